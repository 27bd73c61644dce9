using System.Net;
using System.Net.Sockets;
using Dataplane.Core.Checksums;
using Dataplane.Core.Parsing;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Overlay;

/// <summary>
/// Builds <see cref="TunnelPeer"/> entries and their outer header templates from plain values (used by the config
/// compiler, tests and benchmarks alike).
/// </summary>
public static class TunnelPeerFactory
{
    /// <summary>The key a Tunnel next hop toward <paramref name="endpoint"/> carries, and whether it is IPv6.</summary>
    public static (UInt128 Value, bool Ipv6) NextHopKey(IPAddress endpoint) =>
        endpoint.AddressFamily == AddressFamily.InterNetwork
            ? (RoutePrefix.ToUInt32(endpoint), false)
            : (RoutePrefix.ToUInt128(endpoint), true);

    /// <summary>The <see cref="AddressIndex"/> key of an address (IPv4-mapped for IPv4).</summary>
    public static UInt128 IndexKey(IPAddress a) =>
        a.AddressFamily == AddressFamily.InterNetwork ? AddressIndex.V4(RoutePrefix.ToUInt32(a)) : RoutePrefix.ToUInt128(a);

    /// <summary>A Tunnel next hop toward <paramref name="endpoint"/> through the underlay hop <paramref name="via"/>.</summary>
    public static NextHop TunnelNextHop(IPAddress endpoint, in NextHop via)
    {
        var (key, v6) = NextHopKey(endpoint);
        return new NextHop(NextHopKind.Tunnel, via.Port, via.DstMac, via.SrcMac, 0, key, v6);
    }

    public static TunnelPeer Vxlan(string name, IPAddress endpoint, IPAddress source, ushort vxlanPort, in NextHop via,
        int mtu, ulong innerDstMac, ulong routerMac, uint fixedVni = 0)
    {
        if (endpoint.AddressFamily != source.AddressFamily)
            throw new ArgumentException($"outer source {source} and endpoint {endpoint} differ in family");
        bool v6 = endpoint.AddressFamily == AddressFamily.InterNetworkV6;
        int ipLen = v6 ? HeaderSizes.Ipv6 : HeaderSizes.Ipv4;
        var t = new byte[ipLen + HeaderSizes.Udp + HeaderSizes.Vxlan];
        if (v6)
        {
            t[0] = 0x60; t[6] = IpProtocols.Udp; t[7] = 64;
            source.TryWriteBytes(t.AsSpan(8), out _);
            endpoint.TryWriteBytes(t.AsSpan(24), out _);
        }
        else
        {
            t[0] = 0x45; t[6] = 0x40; t[8] = 64; t[9] = IpProtocols.Udp;    // DF: we do path MTU ourselves
            source.TryWriteBytes(t.AsSpan(12), out _);
            endpoint.TryWriteBytes(t.AsSpan(16), out _);
        }
        t[ipLen + 2] = (byte)(vxlanPort >> 8); t[ipLen + 3] = (byte)vxlanPort;
        t[ipLen + HeaderSizes.Udp] = 0x08;                                  // I flag: the VNI is valid
        uint pseudo = v6 ? InetChecksum.Sum(t.AsSpan(8, 32), IpProtocols.Udp) : InetChecksum.Sum(t.AsSpan(0, HeaderSizes.Ipv4));
        var inner = new NextHop(NextHopKind.Port, 0, innerDstMac, routerMac, 0);
        return new TunnelPeer
        {
            Mode = TunnelMode.Vxlan, Endpoint = IndexKey(endpoint), Name = name, Port = via.Port,
            EthWord0 = via.EthWord0, EthWord1 = via.EthWord1, Mtu = mtu, VxlanTemplate = t, OuterIpv6 = v6,
            NeighborFamily = NeighborOf(via, endpoint).Family, NeighborAddress = NeighborOf(via, endpoint).Address,
            PseudoSum = pseudo, InnerEthWord0 = inner.EthWord0, InnerEthWord1 = inner.EthWord1, FixedVni = fixedVni,
        };
    }

    /// <summary>
    /// An SRv6 peer. <paramref name="segments4"/>/<paramref name="segments6"/> are the SIDs in the order visited,
    /// the last being the peer's End.DT4/DT6/DT46 SID; null = that family cannot be sent to this peer.
    /// </summary>
    public static TunnelPeer Srv6(string name, IPAddress key, IPAddress source, in NextHop via, int mtu,
        IReadOnlyList<IPAddress>? segments4, IReadOnlyList<IPAddress>? segments6, bool reduced)
    {
        return new TunnelPeer
        {
            Mode = TunnelMode.Srv6, Endpoint = IndexKey(key), Name = name, Port = via.Port,
            EthWord0 = via.EthWord0, EthWord1 = via.EthWord1, Mtu = mtu,
            NeighborFamily = NeighborOf(via, FirstSid(segments4, segments6)).Family,
            NeighborAddress = NeighborOf(via, FirstSid(segments4, segments6)).Address,
            Srv6Template4 = segments4 is { Count: > 0 } ? Srv6Template(source, segments4, reduced, 4) : null,
            Srv6Template6 = segments6 is { Count: > 0 } ? Srv6Template(source, segments6, reduced, 41) : null,
        };
    }

    /// <summary>The underlay neighbour to resolve toward <paramref name="target"/> through <paramref name="via"/>:
    /// the gateway of a Gateway hop, the target itself on a connected subnet (Glean); none for a static MAC.</summary>
    public static (byte Family, UInt128 Address) NeighborOf(in NextHop via, IPAddress? target) => via.Kind switch
    {
        NextHopKind.Gateway => (via.ViaIsIpv6 ? (byte)6 : (byte)4, via.Via),
        NextHopKind.Glean when target is not null => target.AddressFamily == AddressFamily.InterNetwork
            ? ((byte)4, (UInt128)RoutePrefix.ToUInt32(target)) : ((byte)6, RoutePrefix.ToUInt128(target)),
        _ => (0, UInt128.Zero),
    };

    private static IPAddress? FirstSid(IReadOnlyList<IPAddress>? s4, IReadOnlyList<IPAddress>? s6) =>
        s4 is { Count: > 0 } ? s4[0] : s6 is { Count: > 0 } ? s6[0] : null;

    /// <summary>
    /// Outer IPv6 header + SRH (RFC 8754) for H.Encaps: the SRH lists the segments in reverse (Segment List[0] is
    /// the last), Segments Left = n − 1, destination = the first segment. H.Encaps.Red (RFC 8986 §5.2) leaves the
    /// first segment out of the SRH (so Last Entry = n − 2) and with a single segment omits the SRH altogether.
    /// </summary>
    public static byte[] Srv6Template(IPAddress source, IReadOnlyList<IPAddress> segments, bool reduced, byte innerProto)
    {
        int n = segments.Count;
        int entries = reduced ? n - 1 : n;
        int srh = entries == 0 ? 0 : HeaderSizes.Srh + 16 * entries;
        var t = new byte[HeaderSizes.Ipv6 + srh];
        t[0] = 0x60; t[6] = srh == 0 ? innerProto : IpProtocols.Ipv6Route; t[7] = 64;
        source.TryWriteBytes(t.AsSpan(8), out _);
        segments[0].TryWriteBytes(t.AsSpan(24), out _);
        if (srh != 0)
        {
            var h = t.AsSpan(HeaderSizes.Ipv6);
            h[0] = innerProto; h[1] = (byte)(2 * entries); h[2] = 4; h[3] = (byte)(n - 1); h[4] = (byte)(entries - 1);
            // Segment List[i] holds the (n-1-i)-th segment of the path.
            for (int i = 0; i < entries; i++)
                segments[n - 1 - i].TryWriteBytes(h[(HeaderSizes.Srh + 16 * i)..], out _);
        }
        return t;
    }
}
