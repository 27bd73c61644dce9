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
public static unsafe partial class MapFiller
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
        // The host endpoint's slot: its policy modes, none while no host policy selects this node.
        endpoints[Core.Policy.HostEndpoint.PolicySlot] = new DpEndpoint
        {
            Identity = Core.Identity.NumericIdentity.Host,
            IngressMode = (byte)HostModeOf(s.IngressPolicy),
            EgressMode = (byte)HostModeOf(s.EgressPolicy),
        };
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
        // The program's FIB has no endpoints map: local pods' addresses are host routes in it, as they rank.
        foreach (var (prefix, nh) in s.Routes.Concat(s.EndpointRoutes))
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
            HostAudit = s.HostPolicyAudit ? (byte)1 : (byte)0,
        };
        return new Content(config, ports, ifindex, tx, endpoints, nextHops, routes4, routes6, ipc4, ipc6, policy, overlay, vni, frontends, ring, backends, members, tunnels, srv6, sids, locators,
            exempt4, exempt6, masqAddr, egw.Sources, egw.Destinations, egw.Excluded, egw.Count, egw.Gateways);
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

    /// <summary>CLOCK_REALTIME − CLOCK_MONOTONIC: what turns bpf_ktime_get_ns into Unix time.</summary>
    public static long UnixClockOffsetNs()
    {
        long mono = (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
        long real = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        return real - mono;
    }
}
