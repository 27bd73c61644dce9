using System.Runtime.InteropServices;

namespace Dataplane.Ebpf.Maps;

// C# mirrors of the structs in bpf/dp_structs.h, field for field: MapLayoutTests checks every size and field
// offset against the BTF of the compiled object (C names without underscores = C# names, case aside).

[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct DpConfig
{
    [FieldOffset(0)] public ulong RouterMac;
    [FieldOffset(8)] public long ClockOffsetNs;
    [FieldOffset(16)] public uint PortCount;
    [FieldOffset(20)] public uint World4;
    [FieldOffset(24)] public uint World6;
    [FieldOffset(28)] public uint CtTcpEstablished;
    [FieldOffset(32)] public uint CtTcpSyn;
    [FieldOffset(36)] public uint CtTcpClose;
    [FieldOffset(40)] public uint CtAny;
    [FieldOffset(44)] public ushort VxlanPort;
    [FieldOffset(46)] public byte CtEnabled;
    [FieldOffset(47)] public byte TestMeta;
    [FieldOffset(48)] public byte FlowEvents;
    /// <summary>MasqueradeState.Enabled.</summary>
    [FieldOffset(49)] public byte MasqEnabled;
    /// <summary>The SNAT port range, MasqueradeState.PortMin .. PortMax.</summary>
    [FieldOffset(50)] public ushort NatPortMin;
    [FieldOffset(52)] public ushort NatPortMax;
    /// <summary>What of the overlay the snapshot configures (<see cref="OverlayBits"/>).</summary>
    [FieldOffset(54)] public byte Overlay;
    /// <summary>1: the snapshot has egress gateway policies.</summary>
    [FieldOffset(55)] public byte EgwEnabled;
    /// <summary>1: the host endpoint is in policy audit mode (DatapathSnapshot.HostPolicyAudit).</summary>
    [FieldOffset(56)] public byte HostAudit;
}

[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct DpPort
{
    [FieldOffset(0)] public ulong Mac;
    [FieldOffset(8)] public uint Endpoint;
    [FieldOffset(12)] public byte Kind;
}

[StructLayout(LayoutKind.Explicit, Size = 28)]
public unsafe struct DpEndpoint
{
    [FieldOffset(0)] public uint Identity;
    [FieldOffset(4)] public fixed byte Ipv4[4];
    [FieldOffset(8)] public fixed byte Ipv6[16];
    [FieldOffset(24)] public byte Has4;
    [FieldOffset(25)] public byte Has6;
    [FieldOffset(26)] public byte IngressMode;
    [FieldOffset(27)] public byte EgressMode;
}

/// <summary>Per-endpoint policy modes (POL_* in bpf/dp_consts.h).</summary>
public enum PolicyMode : byte { None = 0, Open = 1, Enforced = 2 }

[StructLayout(LayoutKind.Explicit, Size = 20)]
public unsafe struct DpNextHop
{
    [FieldOffset(0)] public fixed byte Eth[12];
    [FieldOffset(12)] public uint Endpoint;
    [FieldOffset(16)] public ushort Port;
    [FieldOffset(18)] public byte Kind;
}

/// <summary>struct ovl_key: an overlay address (IPv4-mapped IPv6 form, network order) and its set.</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public unsafe struct OvlKey
{
    /// <summary>Kinds (OVL_* in bpf/dp_consts.h): this node's underlay address, a tunnel peer's.</summary>
    public const byte Local = 0, Peer = 1;
    [FieldOffset(0)] public fixed byte Addr[16];
    [FieldOffset(16)] public byte Kind;
}

[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct Lpm4Key
{
    [FieldOffset(0)] public uint PrefixLen;
    [FieldOffset(4)] public fixed byte Addr[4];
}

[StructLayout(LayoutKind.Explicit, Size = 20)]
public unsafe struct Lpm6Key
{
    [FieldOffset(0)] public uint PrefixLen;
    [FieldOffset(4)] public fixed byte Addr[16];
}

[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct PolicyKey
{
    [FieldOffset(0)] public uint Endpoint;
    [FieldOffset(4)] public uint Identity;
    [FieldOffset(8)] public byte Proto;
    [FieldOffset(9)] public byte Egress;
}

[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct PolicyRange
{
    [FieldOffset(0)] public ushort Low;
    [FieldOffset(2)] public ushort High;
    [FieldOffset(4)] public uint Rule;
    [FieldOffset(8)] public byte Deny;
}

[StructLayout(LayoutKind.Explicit, Size = 8 + DatapathLimits.PolicyRanges * 12)]
public unsafe struct PolicyValue
{
    [FieldOffset(0)] public uint Count;
    [FieldOffset(8)] public fixed byte Ranges[DatapathLimits.PolicyRanges * 12];

    public ref PolicyRange this[int i] => ref System.Runtime.CompilerServices.Unsafe.As<byte, PolicyRange>(ref Ranges[i * 12]);
}

[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct CtKeyBpf
{
    [FieldOffset(0)] public fixed byte Src[16];
    [FieldOffset(16)] public fixed byte Dst[16];
    [FieldOffset(32)] public ushort Sport;
    [FieldOffset(34)] public ushort Dport;
    [FieldOffset(36)] public byte Proto;
    [FieldOffset(37)] public byte Family;
}

[StructLayout(LayoutKind.Explicit, Size = 44)]
public unsafe struct CtValueBpf
{
    [FieldOffset(0)] public uint Expires;
    [FieldOffset(4)] public ushort State;
    [FieldOffset(6)] public ushort Flags;
    [FieldOffset(8)] public uint RevNat;
    [FieldOffset(12)] public uint Backend;
    [FieldOffset(16)] public uint PolicyRule;
    [FieldOffset(20)] public uint Packets;
    /// <summary>CT_DNAT: the backend the connection was DNATed to; CT_SNAT: its translated source.</summary>
    [FieldOffset(24)] public fixed byte NatAddr[16];
    [FieldOffset(40)] public ushort NatPort;
}

/// <summary>dp_lb_fe key: a service frontend (address as in ct_key, port, protocol, family).</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public unsafe struct LbFeKey
{
    [FieldOffset(0)] public fixed byte Addr[16];
    [FieldOffset(16)] public ushort Port;
    [FieldOffset(18)] public byte Proto;
    [FieldOffset(19)] public byte Family;
}

/// <summary>dp_lb_fe value: the frontend's Maglev ring in dp_lb_ring (length 0: no backend, drop 158).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct LbFe
{
    [FieldOffset(0)] public uint RingBase;
    [FieldOffset(4)] public uint RingLen;
    [FieldOffset(8)] public uint BackendBase;
    [FieldOffset(12)] public uint BackendCount;
    /// <summary>ServiceInfo.Id: the service port sessionAffinity bindings are kept for.</summary>
    [FieldOffset(16)] public uint ServiceId;
    /// <summary>sessionAffinity ClientIP timeout in seconds (0: none).</summary>
    [FieldOffset(20)] public uint AffinityTimeout;
}

/// <summary>dp_lb_member key: a backend of the set laid out at Base (value: its index there).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public unsafe struct LbMemberKey
{
    [FieldOffset(0)] public uint Base;
    [FieldOffset(4)] public fixed byte Addr[16];
    [FieldOffset(20)] public ushort Port;
}

/// <summary>dp_lb_affinity key: client address (as in ct_key), ServiceInfo.Id, family.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public unsafe struct LbAffinityKey
{
    [FieldOffset(0)] public fixed byte Client[16];
    [FieldOffset(16)] public uint Service;
    [FieldOffset(20)] public byte Family;
}

/// <summary>dp_lb_affinity value: the bound backend and when the binding ends (Unix seconds).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public unsafe struct LbAffinity
{
    [FieldOffset(0)] public fixed byte Backend[16];
    [FieldOffset(16)] public ushort Port;
    [FieldOffset(20)] public uint Expires;
}

/// <summary>dp_lb_ring value: one ring slot's backend.</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public unsafe struct LbSlot
{
    [FieldOffset(0)] public fixed byte Addr[16];
    [FieldOffset(16)] public ushort Port;
}

/// <summary>struct dp_tunnel (dp_tunnels value, keyed by a Tunnel next hop's index): its VXLAN peer.</summary>
[StructLayout(LayoutKind.Explicit, Size = 116)]
public unsafe struct DpTunnel
{
    /// <summary>Outer IP + UDP + VXLAN template (TunnelPeer.VxlanTemplate, 36 or 56 bytes).</summary>
    [FieldOffset(0)] public fixed byte Template[DatapathLimits.TunnelTemplateBytes];
    /// <summary>Outer destination and source MAC, as TunnelPeer.EthWord0/1 lie in memory.</summary>
    [FieldOffset(56)] public fixed byte Eth[12];
    /// <summary>Inner destination (the peer's VXLAN MAC) and source MAC (InnerEthWord0/1).</summary>
    [FieldOffset(68)] public fixed byte InnerEth[12];
    [FieldOffset(80)] public uint PseudoSum;
    [FieldOffset(84)] public uint FixedVni;
    [FieldOffset(88)] public uint Mtu;
    [FieldOffset(92)] public ushort Port;
    [FieldOffset(94)] public byte OuterIpv6;
    /// <summary>TunnelMode: 1 VXLAN, 2 SRv6 (templates in dp_srv6).</summary>
    [FieldOffset(95)] public byte Mode;
    /// <summary>OverlayState.IcmpSource4 / 6, network order (zero: none).</summary>
    [FieldOffset(96)] public fixed byte IcmpSource4[4];
    [FieldOffset(100)] public fixed byte IcmpSource6[16];
}

/// <summary>struct dp_srv6 (dp_srv6 value, keyed like dp_tunnels): an SRv6 peer's H.Encaps templates per inner family.</summary>
[StructLayout(LayoutKind.Explicit, Size = 244)]
public unsafe struct DpSrv6
{
    [FieldOffset(0)] public fixed byte Template4[DatapathLimits.Srv6MaxTemplate];
    [FieldOffset(120)] public fixed byte Template6[DatapathLimits.Srv6MaxTemplate];
    [FieldOffset(240)] public ushort Len4;
    [FieldOffset(242)] public ushort Len6;
}

/// <summary>dp_config.overlay bits (OVERLAY_* in bpf/dp_consts.h).</summary>
public static class OverlayBits
{
    /// <summary>Tunnel next hops: the program computes the flow hash encapsulation uses.</summary>
    public const byte Tunnels = 1 << 0;
    /// <summary>Local SRv6 SIDs or locators.</summary>
    public const byte Sids = 1 << 1;
    /// <summary>Local underlay addresses: VXLAN to them is terminated (and never looked at as SRv6).</summary>
    public const byte Local = 1 << 2;
}

/// <summary>struct srv6_sid (dp_srv6_sid value, keyed by the SID as an lpm6_key of length 128).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct Srv6Sid
{
    [FieldOffset(0)] public byte Behavior;
    [FieldOffset(2)] public ushort Port;
    /// <summary>End.X: the adjacency's destination and source MAC.</summary>
    [FieldOffset(4)] public fixed byte Eth[12];
}

/// <summary>struct masq_addr (dp_masq_addr value): the address a port masquerades to, network order (zero: none).</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public unsafe struct MasqAddr
{
    [FieldOffset(0)] public fixed byte Ipv4[4];
    [FieldOffset(4)] public fixed byte Ipv6[16];
}

/// <summary>dp_egw_dst / dp_egw_excl key: prefix length 8 + the IPv4 prefix's, the policy index, the prefix.</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public unsafe struct EgwLpmKey
{
    [FieldOffset(0)] public uint PrefixLen;
    [FieldOffset(4)] public byte Policy;
    [FieldOffset(5)] public fixed byte Addr[4];
}

/// <summary>dp_egw_gw value: one gateway node of a policy.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct EgwGateway
{
    [FieldOffset(0)] public fixed byte EgressIp[4];
    [FieldOffset(4)] public uint NextHop;
    [FieldOffset(8)] public uint Seed;
    [FieldOffset(12)] public byte Local;
    [FieldOffset(13)] public byte Live;
}

[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct DropCounter
{
    [FieldOffset(0)] public ulong Packets;
    [FieldOffset(8)] public ulong Bytes;
}

/// <summary>The per-CPU record of the last packet's outcome (what the differential tests compare).</summary>
[StructLayout(LayoutKind.Explicit, Size = 44)]
public struct DpVerdict
{
    [FieldOffset(0)] public uint Token;
    [FieldOffset(4)] public uint Length;
    [FieldOffset(8)] public uint SrcIdentity;
    [FieldOffset(12)] public uint DstIdentity;
    [FieldOffset(16)] public uint SrcEndpoint;
    [FieldOffset(20)] public uint DstEndpoint;
    [FieldOffset(24)] public uint PolicyRule;
    [FieldOffset(28)] public uint IngressRule;
    [FieldOffset(32)] public ushort InPort;
    [FieldOffset(34)] public ushort OutPort;
    [FieldOffset(36)] public ushort Flags;
    [FieldOffset(38)] public byte Verdict;
    [FieldOffset(39)] public byte DropReason;
    [FieldOffset(40)] public byte Direction;
    [FieldOffset(41)] public byte CtState;
}

[StructLayout(LayoutKind.Explicit, Size = 96)]
public unsafe struct DpFlowEvent
{
    [FieldOffset(0)] public ulong TimeNs;
    [FieldOffset(8)] public fixed byte Src[16];
    [FieldOffset(24)] public fixed byte Dst[16];
    [FieldOffset(40)] public uint SrcIdentity;
    [FieldOffset(44)] public uint DstIdentity;
    [FieldOffset(48)] public uint SrcEndpoint;
    [FieldOffset(52)] public uint DstEndpoint;
    [FieldOffset(56)] public uint PolicyRule;
    [FieldOffset(60)] public uint IngressRule;
    [FieldOffset(64)] public ushort Sport;
    [FieldOffset(66)] public ushort Dport;
    [FieldOffset(68)] public ushort InPort;
    [FieldOffset(70)] public ushort OutPort;
    [FieldOffset(72)] public ushort Length;
    [FieldOffset(74)] public ushort EtherType;
    [FieldOffset(76)] public ushort Flags;
    [FieldOffset(78)] public byte IpVersion;
    [FieldOffset(79)] public byte Proto;
    [FieldOffset(80)] public byte TcpFlags;
    [FieldOffset(81)] public byte IcmpType;
    [FieldOffset(82)] public byte IcmpCode;
    [FieldOffset(83)] public byte Verdict;
    [FieldOffset(84)] public byte DropReason;
    [FieldOffset(85)] public byte Direction;
    [FieldOffset(86)] public byte CtState;
}

/// <summary>XDP metadata a BPF_PROG_TEST_RUN caller puts in front of the packet (dp_test_meta).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct DpTestMeta
{
    /// <summary>DP_TEST_MAGIC ("DPMT"): the program trusts the metadata only behind it.</summary>
    public const uint TestMagic = 0x44504d54;
    [FieldOffset(0)] public uint Magic;
    [FieldOffset(4)] public uint Token;
    [FieldOffset(8)] public uint Now;
    [FieldOffset(12)] public ushort InPort;
}

/// <summary>Slots of the per-CPU dp_stats array (STAT_* in bpf/dp_consts.h).</summary>
public enum StatSlot : uint
{
    RxPackets = 0, RxBytes = 1, TxPackets = 2, TxBytes = 3, LocalPackets = 4, EventsLost = 5,
    /// <summary>Packets policy audit mode let through, one slot per direction from here (WorkerCounters.AuditedPackets).</summary>
    Audited = 8,
    /// <summary>Slots in the array (STAT_COUNT; those not named unused).</summary>
    Count = 16,
}
