using System.Buffers.Binary;

namespace Dataplane.Core.Routing;

/// <summary>What a route resolves to. Stored in the snapshot's next-hop table; LPM entries hold its index.</summary>
public enum NextHopKind : byte
{
    /// <summary>Destination is on a connected subnet but its MAC is unknown: FIB lookup fails (169).</summary>
    Unresolved = 0,
    /// <summary>Out of a node interface to a neighbour (gateway or directly connected host): MAC rewrite.</summary>
    Port = 1,
    /// <summary>To a local pod's interface.</summary>
    Endpoint = 2,
    /// <summary>One of this node's own addresses: handed to the host stack.</summary>
    Host = 3,
    /// <summary>Inside this node's pod CIDR but no pod has the address (152).</summary>
    NoEndpoint = 4,
    /// <summary>Through an overlay tunnel to another node (VXLAN/SRv6 encapsulation).</summary>
    Tunnel = 5,
    /// <summary>ECMP: one of <see cref="NextHop.Port"/> members stored at next-hop indices <see cref="NextHop.Endpoint"/>
    /// onward, picked by flow hash (a flow stays on one member; BGP routes learned from several peers).</summary>
    Multipath = 6,
}

/// <summary>A resolved next hop: everything the rewrite needs, with no further lookups.</summary>
public readonly record struct NextHop(
    NextHopKind Kind,
    ushort Port,
    ulong DstMac,
    ulong SrcMac,
    uint Endpoint,
    UInt128 TunnelEndpoint = default,
    bool TunnelIsIpv6 = false)
{
    /// <summary>Destination and source MAC as the first 12 bytes of the Ethernet header, in memory order, so
    /// the rewrite is two unaligned stores instead of twelve byte writes.</summary>
    public ulong EthWord0 { get; } = BinaryPrimitives.ReverseEndianness(DstMac << 16) | EthHigh(SrcMac);

    public uint EthWord1 { get; } = BinaryPrimitives.ReverseEndianness((uint)SrcMac);

    /// <summary>Bytes 6 and 7 of the header: the first two octets of the source MAC.</summary>
    private static ulong EthHigh(ulong srcMac) => (ulong)BinaryPrimitives.ReverseEndianness((ushort)(srcMac >> 32)) << 48;

    public static NextHop Unresolved => new(NextHopKind.Unresolved, 0, 0, 0, 0);
    public static NextHop Host => new(NextHopKind.Host, 0, 0, 0, 0);
    public static NextHop NoEndpoint => new(NextHopKind.NoEndpoint, 0, 0, 0, 0);

    /// <summary>An ECMP group over the <paramref name="count"/> next hops stored from index <paramref name="first"/>.</summary>
    public static NextHop Multipath(uint first, ushort count) => new(NextHopKind.Multipath, count, 0, 0, first);
}
