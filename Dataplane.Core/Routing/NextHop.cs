using System.Buffers.Binary;

namespace Dataplane.Core.Routing;

/// <summary>What a route resolves to. Stored in the snapshot's next-hop table; LPM entries hold its index.</summary>
public enum NextHopKind : byte
{
    /// <summary>No way to forward (no port known): FIB lookup fails (169).</summary>
    Unresolved = 0,
    /// <summary>Out of a node interface to a neighbour whose MAC is known (a static neighbour): MAC rewrite.</summary>
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
    /// <summary>A connected subnet on <see cref="NextHop.Port"/>: the packet's own destination is resolved by ARP/ND
    /// (VPP's glean adjacency).</summary>
    Glean = 7,
    /// <summary>Out of <see cref="NextHop.Port"/> to the gateway <see cref="NextHop.Via"/>, whose MAC is resolved by
    /// ARP/ND at run time.</summary>
    Gateway = 8,
}

/// <summary>A resolved next hop: everything the rewrite needs, with no further lookups.</summary>
public readonly record struct NextHop(
    NextHopKind Kind,
    ushort Port,
    ulong DstMac,
    ulong SrcMac,
    uint Endpoint,
    UInt128 TunnelEndpoint = default,
    bool TunnelIsIpv6 = false,
    UInt128 Via = default,
    bool ViaIsIpv6 = false)
{
    /// <summary>Destination and source MAC as the first 12 bytes of the Ethernet header, in memory order, so
    /// the rewrite is two unaligned stores instead of twelve byte writes.</summary>
    public ulong EthWord0 { get; } = BinaryPrimitives.ReverseEndianness(DstMac << 16) | EthHigh(SrcMac);

    public uint EthWord1 { get; } = BinaryPrimitives.ReverseEndianness((uint)SrcMac);

    /// <summary>Bytes 6 and 7 of the header: the first two octets of the source MAC.</summary>
    private static ulong EthHigh(ulong srcMac) => (ulong)BinaryPrimitives.ReverseEndianness((ushort)(srcMac >> 32)) << 48;

    /// <summary>Whether the MAC toward this hop is looked up in the neighbour table per packet.</summary>
    public bool IsDynamic => Kind is NextHopKind.Glean or NextHopKind.Gateway;

    public static NextHop Unresolved => new(NextHopKind.Unresolved, 0, 0, 0, 0);
    public static NextHop Host => new(NextHopKind.Host, 0, 0, 0, 0);
    public static NextHop NoEndpoint => new(NextHopKind.NoEndpoint, 0, 0, 0, 0);

    /// <summary>An ECMP group over the <paramref name="count"/> next hops stored from index <paramref name="first"/>.</summary>
    public static NextHop Multipath(uint first, ushort count) => new(NextHopKind.Multipath, count, 0, 0, first);
    /// <summary>A connected subnet out of <paramref name="port"/> (source MAC <paramref name="portMac"/>).</summary>
    public static NextHop GleanOn(ushort port, ulong portMac) => new(NextHopKind.Glean, port, 0, portMac, 0);

    /// <summary>To gateway <paramref name="via"/> (IPv4 in the low 32 bits) out of <paramref name="port"/>.</summary>
    public static NextHop GatewayOn(ushort port, ulong portMac, UInt128 via, bool ipv6) =>
        new(NextHopKind.Gateway, port, 0, portMac, 0, Via: via, ViaIsIpv6: ipv6);
}
