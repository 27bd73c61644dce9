using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Ebpf.Maps;

// The overlay: VXLAN termination (our underlay addresses, peers, valid VNIs), tunnel next hops' peers with their
// SRv6 templates, and this node's SRv6 SIDs and locators.
public static unsafe partial class MapFiller
{
    /// <summary>VXLAN termination: our underlay addresses, the peers with their fixed VNI, the valid-VNI bitmap.</summary>
    private static (Dictionary<OvlKey, uint> Addresses, ulong[] Vni) OverlayContent(Core.Overlay.OverlayState o)
    {
        var addresses = new Dictionary<OvlKey, uint>(BytewiseComparer<OvlKey>.Instance);
        foreach (var (addr, _) in o.LocalAddresses.Entries()) addresses[OvlKeyOf(addr, OvlKey.Local)] = 0;
        foreach (var (addr, peer) in o.PeerIndex.Entries()) addresses[OvlKeyOf(addr, OvlKey.Peer)] = o.Peers[peer].FixedVni;
        var vni = new ulong[1024];
        for (uint v = 0; v < 1u << 16; v++)
            if (o.IsValidVni(v)) vni[v >> 6] |= 1UL << (int)(v & 63);
        return (addresses, vni);
    }

    private static OvlKey OvlKeyOf(UInt128 addr, byte kind)
    {
        var k = new OvlKey { Kind = kind };
        BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(k.Addr, 16), addr);
        return k;
    }

    /// <summary>
    /// Each Tunnel next hop's peer, found as OverlayEncapStage finds it (by the hop's endpoint in the peer index)
    /// once here instead of per packet, with an SRv6 peer's templates beside it. A hop whose endpoint is no peer
    /// gets no entry: the program drops with 160, as the C# stage does.
    /// </summary>
    private static (Dictionary<uint, DpTunnel>, Dictionary<uint, DpSrv6>) TunnelContent(DatapathSnapshot s)
    {
        var o = s.Overlay;
        var tunnels = new Dictionary<uint, DpTunnel>();
        var srv6 = new Dictionary<uint, DpSrv6>();
        for (int i = 0; i < s.NextHops.Length; i++)
        {
            var nh = s.NextHops[i];
            if (nh.Kind != NextHopKind.Tunnel) continue;
            int peer = o.PeerIndex.Find(nh.TunnelIsIpv6 ? nh.TunnelEndpoint : Core.Overlay.AddressIndex.V4((uint)nh.TunnelEndpoint));
            if (peer < 0) continue;
            ref readonly var t = ref o.Peers[peer];
            var d = new DpTunnel
            {
                PseudoSum = t.PseudoSum, FixedVni = t.FixedVni, Mtu = (uint)t.Mtu, Port = t.Port,
                OuterIpv6 = t.OuterIpv6 ? (byte)1 : (byte)0, Mode = (byte)t.Mode,
            };
            if (t.Mode == Core.Overlay.TunnelMode.Srv6)
            {
                var e = new DpSrv6 { Len4 = (ushort)(t.Srv6Template4?.Length ?? 0), Len6 = (ushort)(t.Srv6Template6?.Length ?? 0) };
                t.Srv6Template4?.CopyTo(new Span<byte>(e.Template4, DatapathLimits.Srv6MaxTemplate));
                t.Srv6Template6?.CopyTo(new Span<byte>(e.Template6, DatapathLimits.Srv6MaxTemplate));
                srv6[(uint)i] = e;
            }
            else
            {
                byte[] template = t.VxlanTemplate ?? throw new InvalidOperationException($"tunnel peer {t.Name} has no VXLAN template");
                template.CopyTo(new Span<byte>(d.Template, DatapathLimits.TunnelTemplateBytes));
            }
            // The C# stage writes these words straight into the frame: their in-memory bytes are the header.
            Unsafe.WriteUnaligned(d.Eth, t.EthWord0);
            Unsafe.WriteUnaligned(d.Eth + 8, t.EthWord1);
            Unsafe.WriteUnaligned(d.InnerEth, t.InnerEthWord0);
            Unsafe.WriteUnaligned(d.InnerEth + 8, t.InnerEthWord1);
            BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(d.IcmpSource4, 4), o.IcmpErrorSource4);
            BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(d.IcmpSource6, 16), o.IcmpSource6);
            tunnels[(uint)i] = d;
        }
        return (tunnels, srv6);
    }

    /// <summary>This node's SRv6 SIDs (behaviour, End.X adjacency) and locators, as OverlayState holds them.</summary>
    private static (Dictionary<Lpm6Key, Srv6Sid>, Dictionary<Lpm6Key, byte>) SidContent(Core.Overlay.OverlayState o)
    {
        var sids = new Dictionary<Lpm6Key, Srv6Sid>(BytewiseComparer<Lpm6Key>.Instance);
        foreach (var sid in o.Sids)
        {
            var k = new Lpm6Key { PrefixLen = 128 };
            BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(k.Addr, 16), sid.Sid);
            var v = new Srv6Sid { Behavior = (byte)sid.Behavior, Port = sid.Port };
            Unsafe.WriteUnaligned(v.Eth, sid.EthWord0);
            Unsafe.WriteUnaligned(v.Eth + 8, sid.EthWord1);
            sids[k] = v;
        }
        var locators = new Dictionary<Lpm6Key, byte>(BytewiseComparer<Lpm6Key>.Instance);
        foreach (var (prefix, mask) in o.Locators)
        {
            var k = new Lpm6Key { PrefixLen = (uint)UInt128.PopCount(mask) };
            BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(k.Addr, 16), prefix & mask);
            locators[k] = 1;
        }
        return (sids, locators);
    }
}
