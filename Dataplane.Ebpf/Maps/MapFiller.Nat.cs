using System.Buffers.Binary;
using Dataplane.Core.Snapshot;

namespace Dataplane.Ebpf.Maps;

// Source NAT: masquerade (exempt destinations, per-port addresses) and egress gateway policies.
public static unsafe partial class MapFiller
{
    /// <summary>
    /// Masquerade: the exempt destinations as LPM entries (a CidrList contains an address iff some prefix covers
    /// it, which is what an LPM hit says) and per port the address it masquerades to. The port range and the
    /// switch go in the config. Remote service backends are SNATed to the same addresses whatever the switch.
    /// </summary>
    private static (Dictionary<Lpm4Key, byte>, Dictionary<Lpm6Key, byte>, MasqAddr[]) MasqueradeContent(DatapathSnapshot s)
    {
        var m = s.Services.Masquerade;
        var v4 = new Dictionary<Lpm4Key, byte>(BytewiseComparer<Lpm4Key>.Instance);
        var v6 = new Dictionary<Lpm6Key, byte>(BytewiseComparer<Lpm6Key>.Instance);
        foreach (var (net, len, family) in m.Exempt.Entries())
        {
            if (family == 4)
            {
                var k = new Lpm4Key { PrefixLen = (uint)len };
                BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(k.Addr, 4), (uint)net);
                v4[k] = 1;
            }
            else
            {
                var k = new Lpm6Key { PrefixLen = (uint)len };
                BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(k.Addr, 16), net);
                v6[k] = 1;
            }
        }
        var addrs = new MasqAddr[s.Ports.Length];
        for (int i = 0; i < addrs.Length; i++)
        {
            ref MasqAddr a = ref addrs[i];
            fixed (byte* v4p = a.Ipv4, v6p = a.Ipv6)
            {
                BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(v4p, 4), (uint)m.AddressOf((ushort)i, 4));
                BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(v6p, 16), m.AddressOf((ushort)i, 6));
            }
        }
        return (v4, v6, addrs);
    }

    private sealed record EgressMaps(Dictionary<uint, ulong> Sources, Dictionary<EgwLpmKey, byte> Destinations,
        Dictionary<EgwLpmKey, byte> Excluded, uint[] Count, EgwGateway[] Gateways);

    /// <summary>
    /// Egress gateway policies (IPv4, as the stage is): selected source addresses with their policy bit sets, each
    /// policy's destination and excluded prefixes keyed by policy, and its gateways in order (the order ties are
    /// broken in). OffloadSupport has refused more policies or gateways than the maps hold.
    /// </summary>
    private static EgressMaps EgressContent(Core.EgressGateway.EgressGatewayState st)
    {
        var sources = new Dictionary<uint, ulong>();
        foreach (var (addr, family, mask) in st.Sources.Entries())
        {
            if (family != 4) continue;
            // The key is the address as its bytes lie in the packet.
            uint raw = BinaryPrimitives.ReverseEndianness((uint)addr);
            if (!BitConverter.IsLittleEndian) raw = (uint)addr;
            sources[raw] = mask;
        }
        var dst = new Dictionary<EgwLpmKey, byte>(BytewiseComparer<EgwLpmKey>.Instance);
        var excl = new Dictionary<EgwLpmKey, byte>(BytewiseComparer<EgwLpmKey>.Instance);
        var count = new uint[DatapathLimits.EgwMaxPolicies];
        var gateways = new EgwGateway[DatapathLimits.EgwMaxPolicies * DatapathLimits.EgwMaxGateways];
        for (int p = 0; p < st.Policies.Length; p++)
        {
            var policy = st.Policies[p];
            AddEgwPrefixes(dst, policy.Destinations, p);
            AddEgwPrefixes(excl, policy.Excluded, p);
            count[p] = (uint)policy.Gateways.Length;
            for (int i = 0; i < policy.Gateways.Length; i++)
            {
                var g = policy.Gateways[i];
                ref EgwGateway d = ref gateways[p * DatapathLimits.EgwMaxGateways + i];
                fixed (byte* ip = d.EgressIp) BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(ip, 4), (uint)g.EgressIp);
                d.NextHop = g.NextHop;
                d.Seed = g.Seed;
                d.Local = g.Local ? (byte)1 : (byte)0;
                d.Live = g.Live ? (byte)1 : (byte)0;
            }
        }
        return new EgressMaps(sources, dst, excl, count, gateways);
    }

    private static void AddEgwPrefixes(Dictionary<EgwLpmKey, byte> into, Core.Nat.CidrList list, int policy)
    {
        foreach (var (net, len, family) in list.Entries())
        {
            if (family != 4) continue;
            var k = new EgwLpmKey { PrefixLen = (uint)(8 + len), Policy = (byte)policy };
            BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(k.Addr, 4), (uint)net);
            into[k] = 1;
        }
    }
}
