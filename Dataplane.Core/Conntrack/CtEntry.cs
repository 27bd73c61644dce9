using System.Runtime.InteropServices;

namespace Dataplane.Core.Conntrack;

/// <summary>
/// One connection: its forward tuple and state in one 64-byte cache line, so a hit costs one line after the
/// index bucket. Field meanings beyond the tuple belong to the conntrack/NAT stages that use them.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct CtEntry
{
    [FieldOffset(0)] public CtKey Key;
    /// <summary>Expiry time in seconds of the table's clock; 0 = free slot.</summary>
    [FieldOffset(40)] public uint Expires;
    /// <summary>TCP state / seen-flags, owned by the conntrack stage.</summary>
    [FieldOffset(44)] public ushort State;
    /// <summary><see cref="CtFlags"/>: the kind of address translation (set by the table on insert) and chaining.</summary>
    [FieldOffset(46)] public ushort Flags;
    /// <summary>The table's insert sequence number when this connection was created: its place in the table's
    /// age order (<see cref="ConntrackTable"/>'s eviction of the oldest embryonic connections).</summary>
    [FieldOffset(48)] public uint Birth;
    /// <summary>The local endpoint that opened the connection (0: from outside the node's pods), whose share of the
    /// table it counts against.</summary>
    [FieldOffset(52)] public uint Owner;
    /// <summary>Rule that allowed the connection, for flow records of later packets.</summary>
    [FieldOffset(56)] public uint PolicyRule;
    [FieldOffset(60)] public uint Packets;
}
