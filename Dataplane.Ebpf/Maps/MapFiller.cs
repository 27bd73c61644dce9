using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Ebpf.Loader;

namespace Dataplane.Ebpf.Maps;

/// <summary>
/// Writes every map of the datapath from a compiled <see cref="DatapathSnapshot"/> — the same object the C#
/// pipeline runs on, so one compiler (SnapshotCompiler) feeds both targets. The whole content is computed and
/// checked against the maps' capacities first; a snapshot that does not fit throws
/// <see cref="EbpfMapFullException"/> before anything is written, and one using what the program does not implement
/// (more egress gateways or longer SRv6 templates than the maps hold: <see cref="OffloadSupport"/>) throws
/// <see cref="EbpfUnsupportedException"/>. Tables are then brought to the new content key by key (stale keys
/// deleted, new ones written), and the config slot last.
/// </summary>
public static unsafe class MapFiller
{
    /// <summary>Fills the maps. <paramref name="ifindexOf"/> gives a port's interface index (0: none, not redirectable).</summary>
    public static void Fill(EbpfDatapath dp, DatapathSnapshot s, Func<PortInfo, int> ifindexOf)
    {
        var content = Compile(dp, s, ifindexOf);
        Sync(dp.IfIndex, content.IfIndex);
        for (int i = 0; i < content.Ports.Length; i++) dp.Ports.Update((uint)i, content.Ports[i]);
        foreach (var (port, ifindex) in content.TxPorts) dp.TxPorts.Update(port, ifindex);
        // The TC program's copy (a devmap cannot be shared with it); 0 where a port has no interface.
        for (uint i = 0; i < content.Ports.Length; i++) dp.TxIfIndex.Update(i, content.TxPorts.GetValueOrDefault(i));
        for (int i = 0; i < content.Endpoints.Length; i++) dp.Endpoints.Update((uint)i, content.Endpoints[i]);
        for (int i = 0; i < content.NextHops.Length; i++) dp.NextHops.Update((uint)i, content.NextHops[i]);
        Sync(dp.Routes4, content.Routes4);
        Sync(dp.Routes6, content.Routes6);
        Sync(dp.IpCache4, content.IpCache4);
        Sync(dp.IpCache6, content.IpCache6);
        Sync(dp.Policy, content.Policy);
        Sync(dp.Overlay, content.Overlay);
        for (int i = 0; i < content.Vni.Length; i++) dp.Vni.Update((uint)i, content.Vni[i]);
        // Ring slots before the frontends that point at them.
        Sync(dp.LbRing, content.LbRing);
        Sync(dp.LbBackends, content.LbBackends);
        Sync(dp.LbMember, content.LbMember);
        Sync(dp.LbFrontends, content.LbFrontends);
        // The random state is seeded once, like a worker's: a config update does not restart the sequence.
        if (!dp.LbRng.TryLookup(0u, out ulong rng) || rng == 0) dp.LbRng.Update(0u, RandomSeed);
        Sync(dp.Srv6, content.Srv6);
        Sync(dp.Srv6Sids, content.Srv6Sids);
        Sync(dp.Srv6Locators, content.Srv6Locators);
        Sync(dp.Tunnels, content.Tunnels);
        Sync(dp.MasqExempt4, content.MasqExempt4);
        Sync(dp.MasqExempt6, content.MasqExempt6);
        for (int i = 0; i < content.MasqAddr.Length; i++) dp.MasqAddr.Update((uint)i, content.MasqAddr[i]);
        // Policies' prefixes and gateways before the sources that lead to them.
        Sync(dp.EgwDestinations, content.EgwDestinations);
        Sync(dp.EgwExcluded, content.EgwExcluded);
        for (int i = 0; i < content.EgwGateways.Length; i++) dp.EgwGateways.Update((uint)i, content.EgwGateways[i]);
        for (int i = 0; i < content.EgwCount.Length; i++) dp.EgwCount.Update((uint)i, content.EgwCount[i]);
        Sync(dp.EgwSources, content.EgwSources);
        dp.Config.Update(0u, content.Config);
    }

    private sealed record Content(
        DpConfig Config, DpPort[] Ports, Dictionary<uint, uint> IfIndex, Dictionary<uint, uint> TxPorts,
        DpEndpoint[] Endpoints, DpNextHop[] NextHops,
        Dictionary<Lpm4Key, uint> Routes4, Dictionary<Lpm6Key, uint> Routes6,
        Dictionary<Lpm4Key, uint> IpCache4, Dictionary<Lpm6Key, uint> IpCache6,
        Dictionary<PolicyKey, PolicyValue> Policy, Dictionary<OvlKey, uint> Overlay, ulong[] Vni,
        Dictionary<LbFeKey, LbFe> LbFrontends, Dictionary<uint, LbSlot> LbRing,
        Dictionary<uint, LbSlot> LbBackends, Dictionary<LbMemberKey, uint> LbMember, Dictionary<uint, DpTunnel> Tunnels, Dictionary<uint, DpSrv6> Srv6,
        Dictionary<Lpm6Key, Srv6Sid> Srv6Sids, Dictionary<Lpm6Key, byte> Srv6Locators,
        Dictionary<Lpm4Key, byte> MasqExempt4, Dictionary<Lpm6Key, byte> MasqExempt6, MasqAddr[] MasqAddr,
        Dictionary<uint, ulong> EgwSources, Dictionary<EgwLpmKey, byte> EgwDestinations, Dictionary<EgwLpmKey, byte> EgwExcluded,
        uint[] EgwCount, EgwGateway[] EgwGateways);

    private static Content Compile(EbpfDatapath dp, DatapathSnapshot s, Func<PortInfo, int> ifindexOf)
    {
        OffloadSupport.Require(s);
        var ports = new DpPort[s.Ports.Length];
        var ifindex = new Dictionary<uint, uint>();
        var tx = new Dictionary<uint, uint>();
        for (int i = 0; i < ports.Length; i++)
        {
            ports[i] = new DpPort { Mac = s.PortMacs[i], Endpoint = s.PortEndpoints[i], Kind = (byte)s.PortKinds[i] };
            int ifi = ifindexOf(s.Ports[i]);
            if (ifi > 0) { ifindex[(uint)ifi] = (uint)i; tx[(uint)i] = (uint)ifi; }
        }
        Check(dp.Ports, ports.Length);

        var endpoints = new DpEndpoint[s.Endpoints.Length];
        for (int id = 1; id < endpoints.Length; id++)
        {
            var e = s.Endpoints[id];
            if (e == null) continue;
            var d = new DpEndpoint { Identity = e.Identity };
            BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(d.Ipv4, 4), e.Ipv4);
            BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(d.Ipv6, 16), e.Ipv6);
            d.Has4 = e.HasIpv4 ? (byte)1 : (byte)0;
            d.Has6 = e.HasIpv6 ? (byte)1 : (byte)0;
            d.IngressMode = (byte)ModeOf(s.IngressPolicy, id);
            d.EgressMode = (byte)ModeOf(s.EgressPolicy, id);
            endpoints[id] = d;
        }
        Check(dp.Endpoints, endpoints.Length);

        var nextHops = new DpNextHop[s.NextHops.Length];
        for (int i = 0; i < nextHops.Length; i++)
        {
            var nh = s.NextHops[i];
            ref DpNextHop d = ref nextHops[i];
            WriteMac(ref d.Eth[0], nh.DstMac);
            WriteMac(ref d.Eth[6], nh.SrcMac);
            d.Endpoint = nh.Endpoint;
            d.Port = nh.Port;
            d.Kind = (byte)nh.Kind;
        }
        Check(dp.NextHops, nextHops.Length);

        var routes4 = new Dictionary<Lpm4Key, uint>(BytewiseComparer<Lpm4Key>.Instance);
        var routes6 = new Dictionary<Lpm6Key, uint>(BytewiseComparer<Lpm6Key>.Instance);
        foreach (var (prefix, nh) in s.Routes)
        {
            if (prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork) routes4[Key4(prefix)] = nh;
            else routes6[Key6(prefix)] = nh;
        }
        Check(dp.Routes4, routes4.Count);
        Check(dp.Routes6, routes6.Count);

        var ipc4 = new Dictionary<Lpm4Key, uint>(BytewiseComparer<Lpm4Key>.Instance);
        var ipc6 = new Dictionary<Lpm6Key, uint>(BytewiseComparer<Lpm6Key>.Instance);
        foreach (var (prefix, identity) in s.IpCache.Entries())
        {
            if (prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork) ipc4[Key4(prefix)] = identity;
            else ipc6[Key6(prefix)] = identity;
        }
        Check(dp.IpCache4, ipc4.Count);
        Check(dp.IpCache6, ipc6.Count);

        var policy = new Dictionary<PolicyKey, PolicyValue>(BytewiseComparer<PolicyKey>.Instance);
        AddPolicy(policy, s.IngressPolicy, egress: false);
        AddPolicy(policy, s.EgressPolicy, egress: true);
        Check(dp.Policy, policy.Count);

        var (overlay, vni) = OverlayContent(s.Overlay);
        Check(dp.Overlay, overlay.Count);

        var (tunnels, srv6) = TunnelContent(s);
        Check(dp.Tunnels, tunnels.Count);
        Check(dp.Srv6, srv6.Count);
        var (sids, locators) = SidContent(s.Overlay);
        Check(dp.Srv6Sids, sids.Count);
        Check(dp.Srv6Locators, locators.Count);

        var (exempt4, exempt6, masqAddr) = MasqueradeContent(s);
        Check(dp.MasqExempt4, exempt4.Count);
        Check(dp.MasqExempt6, exempt6.Count);
        Check(dp.MasqAddr, masqAddr.Length);

        var egw = EgressContent(s.Services.EgressGateway);
        Check(dp.EgwSources, egw.Sources.Count);
        Check(dp.EgwDestinations, egw.Destinations.Count);
        Check(dp.EgwExcluded, egw.Excluded.Count);

        var (frontends, ring, backends, members) = ServiceContent(s.Services);
        Check(dp.LbFrontends, frontends.Count);
        Check(dp.LbRing, ring.Count);
        Check(dp.LbBackends, backends.Count);
        Check(dp.LbMember, members.Count);

        var o = dp.Options;
        var config = new DpConfig
        {
            RouterMac = s.RouterMac,
            ClockOffsetNs = UnixClockOffsetNs(),
            PortCount = (uint)ports.Length,
            World4 = s.IpCache.World4,
            World6 = s.IpCache.World6,
            CtTcpEstablished = o.Timeouts.TcpEstablished,
            CtTcpSyn = o.Timeouts.TcpSyn,
            CtTcpClose = o.Timeouts.TcpClose,
            CtAny = o.Timeouts.NonTcp,
            VxlanPort = s.VxlanPort,
            CtEnabled = o.Conntrack ? (byte)1 : (byte)0,
            TestMeta = o.TestRunMetadata ? (byte)1 : (byte)0,
            FlowEvents = o.FlowEvents ? (byte)1 : (byte)0,
            MasqEnabled = s.Services.Masquerade.Enabled ? (byte)1 : (byte)0,
            NatPortMin = s.Services.Masquerade.PortMin,
            NatPortMax = s.Services.Masquerade.PortMax,
            Overlay = (byte)((tunnels.Count > 0 ? OverlayBits.Tunnels : 0) | (s.Overlay.HasSids ? OverlayBits.Sids : 0)
                | (s.Overlay.LocalAddresses.Count > 0 ? OverlayBits.Local : 0)),
            EgwEnabled = s.Services.EgressGateway.Any ? (byte)1 : (byte)0,
        };
        return new Content(config, ports, ifindex, tx, endpoints, nextHops, routes4, routes6, ipc4, ipc6, policy, overlay, vni, frontends, ring, backends, members, tunnels, srv6, sids, locators,
            exempt4, exempt6, masqAddr, egw.Sources, egw.Destinations, egw.Excluded, egw.Count, egw.Gateways);
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
            BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(d.IcmpSource4, 4), o.IcmpSource4);
            BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(d.IcmpSource6, 16), o.IcmpSource6);
            tunnels[(uint)i] = d;
        }
        return (tunnels, srv6);
    }

    /// <summary>LbWorkerState's initial xorshift64* state: BPF random selection starts where a C# worker does.</summary>
    public const ulong RandomSeed = 0x9E3779B97F4A7C15;

    /// <summary>
    /// Frontends and their backend sets, each set laid out once: its Maglev ring at consecutive dp_lb_ring slots
    /// (a slot holds the backend itself, so the program needs one lookup), its backends at consecutive
    /// dp_lb_backends slots (random selection) and by (set, address, port) in dp_lb_member (affinity checks). A
    /// Local traffic policy is already the frontend's narrowed set.
    /// </summary>
    private static (Dictionary<LbFeKey, LbFe>, Dictionary<uint, LbSlot>, Dictionary<uint, LbSlot>, Dictionary<LbMemberKey, uint>)
        ServiceContent(Core.Services.ServiceState st)
    {
        var frontends = new Dictionary<LbFeKey, LbFe>(BytewiseComparer<LbFeKey>.Instance);
        var ring = new Dictionary<uint, LbSlot>();
        var backends = new Dictionary<uint, LbSlot>();
        var members = new Dictionary<LbMemberKey, uint>(BytewiseComparer<LbMemberKey>.Instance);
        var bases = new Dictionary<int, (uint Ring, uint Backends)>();
        foreach (var f in st.Frontends.All())
        {
            var set = st.Sets[f.Set];
            if (!bases.TryGetValue(f.Set, out var start))
            {
                start = ((uint)ring.Count, (uint)backends.Count);
                bases[f.Set] = start;
                for (int i = 0; i < set.Ring.Length; i++)
                {
                    ref readonly var b = ref set.Backends[set.Ring[i]];
                    var slot = new LbSlot { Port = b.Port };
                    WriteAddr(slot.Addr, b.Addr, f.Family);
                    ring[start.Ring + (uint)i] = slot;
                }
                for (int i = 0; i < set.Backends.Length; i++)
                {
                    ref readonly var b = ref set.Backends[i];
                    var slot = new LbSlot { Port = b.Port };
                    WriteAddr(slot.Addr, b.Addr, f.Family);
                    backends[start.Backends + (uint)i] = slot;
                    var member = new LbMemberKey { Base = start.Backends, Port = b.Port };
                    WriteAddr(member.Addr, b.Addr, f.Family);
                    members[member] = (uint)i;
                }
            }
            var key = new LbFeKey { Port = f.Port, Proto = f.Proto, Family = f.Family };
            WriteAddr(key.Addr, f.Addr, f.Family);
            var info = st.Services[f.Service];
            frontends[key] = new LbFe
            {
                RingBase = start.Ring, RingLen = (uint)set.Ring.Length,
                BackendBase = start.Backends, BackendCount = (uint)set.Backends.Length,
                ServiceId = info.Id, AffinityTimeout = info.AffinityTimeout,
            };
        }
        return (frontends, ring, backends, members);
    }

    /// <summary>An address as ct_key holds it: IPv4 in the first 4 bytes, IPv6 all 16, network order.</summary>
    private static void WriteAddr(byte* dst, UInt128 addr, byte family)
    {
        if (family == 4) BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(dst, 4), (uint)addr);
        else BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(dst, 16), addr);
    }

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

    private static PolicyMode ModeOf(Core.Policy.PolicyMap[] maps, int id) =>
        id >= maps.Length ? PolicyMode.None : maps[id].Enforced ? PolicyMode.Enforced : PolicyMode.Open;

    private static void AddPolicy(Dictionary<PolicyKey, PolicyValue> policy, Core.Policy.PolicyMap[] maps, bool egress)
    {
        for (int ep = 1; ep < maps.Length; ep++)
        {
            foreach (var (identity, proto, entries) in maps[ep].Keys())
            {
                if (entries.Length > DatapathLimits.PolicyRanges)
                    throw new EbpfMapFullException("dp_policy", DatapathLimits.PolicyRanges,
                        $"endpoint {ep} {(egress ? "egress" : "ingress")}: {entries.Length} port ranges for peer identity {identity} protocol {proto}; the eBPF policy map holds at most {DatapathLimits.PolicyRanges} per (peer, protocol)");
                var v = new PolicyValue { Count = (uint)entries.Length };
                for (int i = 0; i < entries.Length; i++)
                    v[i] = new PolicyRange { Low = entries[i].Low, High = entries[i].High, Rule = entries[i].Rule, Deny = entries[i].Deny };
                policy[new PolicyKey { Endpoint = (uint)ep, Identity = identity, Proto = proto, Egress = egress ? (byte)1 : (byte)0 }] = v;
            }
        }
    }

    private static void Check(BpfMap map, int needed)
    {
        if (needed > map.MaxEntries)
            throw new EbpfMapFullException(map.Name, map.MaxEntries,
                $"map {map.Name} holds at most {map.MaxEntries} entries; the snapshot needs {needed}");
    }

    /// <summary>Brings a hash/LPM map to exactly <paramref name="want"/>: stale keys out first (room), then every wanted key.</summary>
    private static void Sync<TKey, TValue>(BpfMap map, Dictionary<TKey, TValue> want)
        where TKey : unmanaged where TValue : unmanaged
    {
        foreach (var key in map.Keys<TKey>())
            if (!want.ContainsKey(key)) map.Delete(key);
        foreach (var (key, value) in want) map.Update(key, value);
    }

    private static Lpm4Key Key4(IPNetwork prefix)
    {
        var k = new Lpm4Key { PrefixLen = (uint)prefix.PrefixLength };
        uint a = Lpm4.Mask(RoutePrefix.ToUInt32(prefix.BaseAddress), prefix.PrefixLength);
        BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(k.Addr, 4), a);
        return k;
    }

    private static Lpm6Key Key6(IPNetwork prefix)
    {
        var k = new Lpm6Key { PrefixLen = (uint)prefix.PrefixLength };
        UInt128 a = Lpm6.Mask(RoutePrefix.ToUInt128(prefix.BaseAddress), prefix.PrefixLength);
        BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(k.Addr, 16), a);
        return k;
    }

    private static void WriteMac(ref byte dst, ulong mac)
    {
        for (int i = 0; i < 6; i++) Unsafe.Add(ref dst, i) = (byte)(mac >> (40 - 8 * i));
    }

    /// <summary>CLOCK_REALTIME − CLOCK_MONOTONIC: what turns bpf_ktime_get_ns into Unix time.</summary>
    public static long UnixClockOffsetNs()
    {
        long mono = (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
        long real = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        return real - mono;
    }
}
