using System.Runtime.InteropServices;
using Dataplane.Core.Drops;

namespace Dataplane.Core.Packets;

/// <summary>
/// Per-packet descriptor and metadata: one per packet in a <see cref="Batch"/>, two cache lines.
/// Cache line 0 holds what the backend fills on receive and what the parser writes (like DPDK's mbuf
/// rx cache line); cache line 1 holds what the later stages compute (identities, conntrack, route, verdict).
/// Offsets are pinned by a test: the eBPF and DPDK backends mirror them.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct PacketMeta
{
    public const int Size = 128;

    // ---- cache line 0: buffer + parse results ----
    /// <summary>First byte of the packet (L2 header). Moves back when a header is pushed into headroom.</summary>
    [FieldOffset(0)] public byte* Data;
    /// <summary>Backend's own handle for the buffer (UMEM address, mbuf pointer, pool frame index).</summary>
    [FieldOffset(8)] public ulong BufferHandle;
    [FieldOffset(16)] public ushort Length;
    /// <summary>Bytes writable in front of <see cref="Data"/> (for encapsulation).</summary>
    [FieldOffset(18)] public ushort Headroom;
    /// <summary>Bytes writable from <see cref="Data"/> to the end of the buffer.</summary>
    [FieldOffset(20)] public ushort Capacity;
    [FieldOffset(22)] public ushort InPort;
    /// <summary>EtherType after any VLAN tags, host order.</summary>
    [FieldOffset(24)] public ushort EtherType;
    /// <summary>Outer VLAN id (0 when untagged).</summary>
    [FieldOffset(26)] public ushort VlanId;
    [FieldOffset(28)] public ushort L3Offset;
    [FieldOffset(30)] public ushort L4Offset;
    /// <summary>Offset of the L4 payload (after the TCP/UDP/ICMP header).</summary>
    [FieldOffset(32)] public ushort PayloadOffset;
    /// <summary>Offset of the IPv6 segment routing header, 0 when absent.</summary>
    [FieldOffset(34)] public ushort SrhOffset;
    [FieldOffset(36)] public PacketFlags Flags;
    /// <summary>4 or 6 for IP packets, 0 otherwise.</summary>
    [FieldOffset(38)] public byte IpVersion;
    /// <summary>Upper-layer protocol (IPPROTO_*) after the IPv6 extension chain.</summary>
    [FieldOffset(39)] public byte L4Proto;
    /// <summary>TCP/UDP source port, host order; ICMP echo identifier for echo request/reply.</summary>
    [FieldOffset(40)] public ushort SrcPort;
    /// <summary>TCP/UDP destination port, host order; for ICMP: type &lt;&lt; 8 | code.</summary>
    [FieldOffset(42)] public ushort DstPort;
    [FieldOffset(44)] public byte TcpFlags;
    [FieldOffset(45)] public byte IcmpType;
    [FieldOffset(46)] public byte IcmpCode;
    /// <summary>TTL / hop limit as received.</summary>
    [FieldOffset(47)] public byte Ttl;
    /// <summary>Flow hash of the 5-tuple (symmetric not required), for ECMP and encap source ports.</summary>
    [FieldOffset(48)] public uint FlowHash;
    /// <summary>Offset of the inner L2 header when this is a VXLAN packet addressed to us.</summary>
    [FieldOffset(52)] public ushort InnerOffset;
    /// <summary>VXLAN network identifier (24 bits) when <see cref="PacketFlags.Vxlan"/> is set.</summary>
    [FieldOffset(56)] public uint Vni;
    /// <summary>Cluster Mesh with overlapping pod CIDRs: the cluster whose endpoint the destination address names
    /// (a global-service backend there), so identity and routing look it up by (cluster, address) instead of the
    /// address alone; 0 = this cluster's address space.</summary>
    [FieldOffset(60)] public byte DstCluster;
    /// <summary>
    /// The packet crossed the node's WireGuard tunnel: it arrived as UDP 51871 and was decrypted before the
    /// pipeline saw it (set by the host's encrypted port, kept through overlay termination), or the encap stage sent
    /// it to a node with a WireGuard key, so it leaves encrypted. Hubble's <c>IP.encrypted</c>.
    /// </summary>
    [FieldOffset(61)] public bool Encrypted;

    // ---- cache line 1: pipeline results ----
    [FieldOffset(64)] public uint SrcIdentity;
    [FieldOffset(68)] public uint DstIdentity;
    /// <summary>Index of the next hop chosen by routing (into the snapshot's next-hop table).</summary>
    [FieldOffset(72)] public uint NextHop;
    /// <summary>Local endpoint id of the source pod (0 when not from a local endpoint).</summary>
    [FieldOffset(76)] public uint SrcEndpoint;
    /// <summary>Local endpoint id of the destination pod (0 when not to a local endpoint).</summary>
    [FieldOffset(80)] public uint DstEndpoint;
    /// <summary>Conntrack entry index, or uint.MaxValue.</summary>
    [FieldOffset(84)] public uint CtIndex;
    [FieldOffset(88)] public ushort OutPort;
    [FieldOffset(90)] public CtState CtState;
    [FieldOffset(91)] public PacketVerdict Verdict;
    [FieldOffset(92)] public DropReason DropReason;
    [FieldOffset(93)] public TrafficDirection Direction;
    /// <summary>
    /// For a dropped packet, the stage that dropped it (a <c>Pipeline.StageId</c>): what the per-stage drop counters
    /// count, as VPP counts each node's errors. Written by <see cref="Drop"/> from <see cref="RunningStage"/>.
    /// </summary>
    [FieldOffset(94)] public byte DecidedBy;
    /// <summary>
    /// 4 or 6 when the packet leaves through a next hop whose MAC is resolved at run time (ARP/ND): the neighbour
    /// resolve stage looks up <see cref="NeighborAddress"/> on <see cref="OutPort"/>; 0 = the MAC is already written.
    /// </summary>
    [FieldOffset(95)] public byte NeighborFamily;
    /// <summary>
    /// Rule that allowed or denied on the source endpoint's egress side (index into the snapshot's policy rule
    /// table; 0 = no rule: not evaluated, not enforced, or dropped for lack of an allow).
    /// </summary>
    [FieldOffset(96)] public uint PolicyRule;
    /// <summary>Rule that allowed or denied on the destination endpoint's ingress side (same encoding).</summary>
    [FieldOffset(100)] public uint IngressPolicyRule;
    /// <summary>Receive time in nanoseconds since the Unix epoch (backend clock, or the pcap record in replay).</summary>
    [FieldOffset(104)] public long Timestamp;
    /// <summary>The neighbour to resolve (IPv4 in the low 32 bits), when <see cref="NeighborFamily"/> is set.</summary>
    [FieldOffset(112)] public UInt128 NeighborAddress;

    public readonly bool IsAlive => Verdict == PacketVerdict.Continue;

    /// <summary>Span over the packet bytes.</summary>
    public readonly Span<byte> Bytes => new(Data, Length);

    [ThreadStatic] private static byte t_runningStage;

    /// <summary>
    /// The stage the pipeline runs on this thread (a <c>Pipeline.StageId</c>), set once per stage and batch by the
    /// dispatcher, so that a drop anywhere inside a stage (its helpers, the parser it calls) is attributed to it
    /// without every call site naming its stage: one thread-local read and one byte store per drop.
    /// </summary>
    public static byte RunningStage { get => t_runningStage; set => t_runningStage = value; }

    /// <summary>Marks the packet dropped with Cilium's reason, by the running stage; the dispatcher counts it.</summary>
    public void Drop(DropReason reason)
    {
        Verdict = PacketVerdict.Drop;
        DropReason = reason;
        DecidedBy = t_runningStage;
    }

    /// <summary>Resets everything the pipeline computes, keeping the buffer fields.</summary>
    public void ResetForRx(ushort inPort)
    {
        var data = Data; var handle = BufferHandle; var len = Length; var head = Headroom; var cap = Capacity; var ts = Timestamp;
        this = default;
        Data = data; BufferHandle = handle; Length = len; Headroom = head; Capacity = cap; Timestamp = ts;
        InPort = inPort;
        CtIndex = uint.MaxValue;
    }

    /// <summary>Grows the packet at the front by <paramref name="bytes"/> (encapsulation). False if no headroom.</summary>
    public bool Push(int bytes)
    {
        if (bytes > Headroom) return false;
        Data -= bytes; Headroom -= (ushort)bytes; Length += (ushort)bytes; Capacity += (ushort)bytes;
        return true;
    }

    /// <summary>Removes <paramref name="bytes"/> from the front (decapsulation).</summary>
    public bool Pull(int bytes)
    {
        if (bytes > Length) return false;
        Data += bytes; Headroom += (ushort)bytes; Length -= (ushort)bytes; Capacity -= (ushort)bytes;
        return true;
    }
}

[Flags]
public enum PacketFlags : ushort
{
    None = 0,
    Vlan = 1 << 0,
    QinQ = 1 << 1,
    Arp = 1 << 2,
    /// <summary>Any fragment (MF set or offset non-zero, or an IPv6 fragment header).</summary>
    Fragment = 1 << 3,
    /// <summary>A fragment other than the first: no L4 header present.</summary>
    LaterFragment = 1 << 4,
    Ipv4Options = 1 << 5,
    Ipv6ExtHeaders = 1 << 6,
    Srh = 1 << 7,
    Vxlan = 1 << 8,
    /// <summary>ICMP error carrying an inner packet (dest unreachable, time exceeded, packet too big …).</summary>
    IcmpError = 1 << 9,
    /// <summary>ICMPv6 neighbour discovery (RS/RA/NS/NA/redirect).</summary>
    Ndp = 1 << 10,
    /// <summary>Destination MAC is broadcast or multicast.</summary>
    L2Multicast = 1 << 11,
    /// <summary><see cref="PacketMeta.NextHop"/> was chosen before routing (egress gateway steering): routing uses
    /// it instead of a lookup.</summary>
    NextHopPreset = 1 << 12,
    /// <summary>Routed to a Tunnel next hop: the overlay encap stage wraps it (<see cref="PacketMeta.NextHop"/> names the hop).</summary>
    TunnelEncap = 1 << 13,
    /// <summary>The source identity came with the packet (VXLAN VNI): the identity stage must not look it up.</summary>
    TunnelIdentity = 1 << 14,
    /// <summary>Received through the overlay (VXLAN or SRv6) and stripped to its inner packet.</summary>
    Decapsulated = 1 << 15,
}

/// <summary>What happens to the packet after the pipeline.</summary>
public enum PacketVerdict : byte
{
    /// <summary>Still travelling through the stages.</summary>
    Continue = 0,
    /// <summary>Transmit on <see cref="PacketMeta.OutPort"/>.</summary>
    Tx = 1,
    Drop = 2,
    /// <summary>Addressed to this host's stack (punted, not forwarded).</summary>
    Local = 3,
    /// <summary>Copied to the neighbour resolver's queue until its next hop's MAC is known (then sent by it).</summary>
    Queued = 4,
}

public enum CtState : byte
{
    None = 0,
    New = 1,
    Established = 2,
    Reply = 3,
    Related = 4,
}

/// <summary>Hubble's TrafficDirection.</summary>
public enum TrafficDirection : byte
{
    Unknown = 0,
    Ingress = 1,
    Egress = 2,
}
