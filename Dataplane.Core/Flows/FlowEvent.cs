using System.Runtime.InteropServices;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;

namespace Dataplane.Core.Flows;

/// <summary>
/// One verdict, as a fixed-size value copied into the flow ring (no allocation on the datapath). Formatting to
/// Hubble's JSON happens on the reader's side, off the hot path.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct FlowEvent
{
    /// <summary>Monotonic sequence number assigned by the worker (position in its input).</summary>
    public ulong Sequence;
    /// <summary>Timestamp in nanoseconds since the Unix epoch (from the packet's receive time).</summary>
    public long TimeNanos;
    public UInt128 Src;         // IPv4 in the low 32 bits (host order), IPv6 big-endian
    public UInt128 Dst;
    /// <summary>The frame's Ethernet addresses as the verdict saw it (48 bits each; 0 = not known, e.g. from eBPF).</summary>
    public ulong SrcMac;
    public ulong DstMac;
    public uint SrcIdentity;
    public uint DstIdentity;
    public uint SrcEndpoint;
    public uint DstEndpoint;
    /// <summary>Egress-side rule (see <see cref="PacketMeta.PolicyRule"/>).</summary>
    public uint PolicyRule;
    public uint IngressPolicyRule;
    public ushort SrcPort;
    public ushort DstPort;
    public ushort InPort;
    public ushort OutPort;
    public ushort Length;
    public ushort EtherType;
    public byte IpVersion;
    public byte L4Proto;
    public byte TcpFlags;
    public byte IcmpType;
    public byte IcmpCode;
    public PacketVerdict Verdict;
    public DropReason DropReason;
    public TrafficDirection Direction;
    public CtState CtState;
    public PacketFlags Flags;
    /// <summary>
    /// An event of the node's L7 proxy: its <see cref="L7Flow"/> (Hubble's l7 — http method, url, code, latency) is
    /// slot <c>L7Record - 1</c> of the proxy's record table (kept apart so the event stays blittable); 0 = a packet event.
    /// </summary>
    public uint L7Record;
    /// <summary>
    /// The packet crossed the node's WireGuard tunnel (<see cref="PacketMeta.Encrypted"/>; Hubble's <c>IP.encrypted</c>).
    /// Never set in events of the eBPF backend, which refuses to run with encryption (so the differential comparison
    /// of C# and BPF events stays whole: without encryption neither side marks anything).
    /// </summary>
    public bool Encrypted;
}
