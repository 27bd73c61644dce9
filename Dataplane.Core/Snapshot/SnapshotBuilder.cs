using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Snapshot;

/// <summary>
/// Assembles a <see cref="DatapathSnapshot"/>: ports, endpoints, next hops and routes. Used by the config
/// compiler and directly by tests and benchmarks. Identical next hops share one table slot.
/// </summary>
public sealed class SnapshotBuilder
{
    private readonly List<PortInfo> _ports = [];
    private readonly List<EndpointInfo?> _endpoints = [null];
    private readonly List<NextHop> _nextHops = [];
    private readonly Dictionary<NextHop, uint> _nextHopIndex = [];
    private readonly List<(IPNetwork Prefix, uint NextHop)> _routes = [];
    /// <summary>Position of each prefix in <see cref="_routes"/>: replacing a route must not scan them all (a
    /// gateway learns a million).</summary>
    private readonly Dictionary<IPNetwork, int> _routeIndex = [];
    /// <summary>Which prefix lengths the routes use, per family: <see cref="Resolve"/> probes <see cref="_routeIndex"/>
    /// once per length present instead of scanning every route (the compiler resolves a next hop per learned route).</summary>
    private readonly bool[] _lengths4 = new bool[33], _lengths6 = new bool[129];
    /// <summary>ECMP groups already laid out, by their members: a million learned prefixes over the same two peers
    /// share one group instead of appending two next hops each.</summary>
    private readonly Dictionary<MemberList, uint> _groups = [];
    /// <summary>The local pods' addresses: in <see cref="EndpointHosts"/>, not in the LPM (see <see cref="Build"/>).</summary>
    private readonly Dictionary<IPAddress, NextHop> _endpointHosts = [];

    public ulong RouterMac { get; set; } = 0x02_00_00_00_00_01;
    public ushort VxlanPort { get; set; }
    public string NodeName { get; set; } = "node";
    public long Generation { get; set; }
    /// <summary>Identities, ipcache and policy maps; null = nothing enforced, every address world.</summary>
    public Policy.PolicyState? Policy { get; set; }
    /// <summary>Services, masquerade and egress gateway; null = none.</summary>
    public Services.ServiceState? Services { get; set; }
    /// <summary>Compiled overlay (tunnel peers, SIDs); empty = none.</summary>
    public Overlay.OverlayState Overlay { get; set; } = Dataplane.Core.Overlay.OverlayState.Empty;
    public Encryption.EncryptionPlan Encryption { get; set; } = Dataplane.Core.Encryption.EncryptionPlan.Disabled;
    /// <summary>Other clusters' endpoints reached by (cluster, address) (<see cref="ClusterAddressTable"/>).</summary>
    public ClusterAddressTable ClusterRoutes { get; set; } = ClusterAddressTable.Empty;
    /// <summary>Other clusters' pod CIDRs under translated ranges (<see cref="ClusterNetmap"/>).</summary>
    public ClusterNetmap ClusterNetmap { get; set; } = ClusterNetmap.Empty;
    public L7.ProxyTarget? L7Proxy { get; set; }

    public IReadOnlyList<PortInfo> Ports => _ports;

    public ushort AddInterface(string name, ulong mac, int mtu = 1500, IEnumerable<PortAddress>? addresses = null)
    {
        var id = checked((ushort)_ports.Count);
        _ports.Add(new PortInfo(id, name, PortKind.Interface, mac, mtu, 0) { Addresses = [.. addresses ?? []] });
        return id;
    }

    private readonly List<StaticNeighbor> _staticNeighbors = [];

    /// <summary>A static neighbour: a host route out of its port with its MAC, listed as Permanent.</summary>
    public void AddStaticNeighbor(IPAddress ip, ushort port, ulong mac)
    {
        bool v6 = ip.AddressFamily == AddressFamily.InterNetworkV6;
        _staticNeighbors.Add(new StaticNeighbor(port, v6, v6 ? RoutePrefix.ToUInt128(ip) : RoutePrefix.ToUInt32(ip), mac));
        AddRoute(new IPNetwork(ip, v6 ? 128 : 32), new NextHop(NextHopKind.Port, port, mac, _ports[port].Mac, 0));
    }

    /// <summary>Adds a local pod with its own port; each of its addresses leads to it as a host route would.</summary>
    public EndpointInfo AddEndpoint(string ns, string name, ImmutableSortedDictionary<string, string> labels,
        string portName, ulong mac, IEnumerable<IPAddress> addresses, uint identity = 0, int mtu = 1500)
    {
        var port = checked((ushort)_ports.Count);
        var id = (uint)_endpoints.Count;
        _ports.Add(new PortInfo(port, portName, PortKind.Endpoint, RouterMac, mtu, id));
        uint v4 = 0; UInt128 v6 = 0; bool has4 = false, has6 = false;
        foreach (var a in addresses)
        {
            if (a.AddressFamily == AddressFamily.InterNetwork) { v4 = RoutePrefix.ToUInt32(a); has4 = true; }
            else { v6 = RoutePrefix.ToUInt128(a); has6 = true; }
            _endpointHosts[a] = new NextHop(NextHopKind.Endpoint, port, mac, RouterMac, id);
        }
        var ep = new EndpointInfo(id, ns, name, labels, port, mac, v4, v6, has4, has6, identity);
        _endpoints.Add(ep);
        return ep;
    }

    public uint AddNextHop(NextHop nh)
    {
        if (_nextHopIndex.TryGetValue(nh, out var idx)) return idx;
        idx = (uint)_nextHops.Count;
        _nextHops.Add(nh);
        _nextHopIndex[nh] = idx;
        return idx;
    }

    /// <summary>Makes room for <paramref name="more"/> routes at once: a learned table of a million routes would
    /// otherwise regrow and rehash the route index some twenty times.</summary>
    public void ReserveRoutes(int more)
    {
        _routes.EnsureCapacity(_routes.Count + more);
        _routeIndex.EnsureCapacity(_routeIndex.Count + more);
    }

    /// <summary>Adds (or, for the same prefix, replaces) a route.</summary>
    public void AddRoute(IPNetwork prefix, NextHop nh)
    {
        uint idx = AddNextHop(nh);
        if (_routeIndex.TryGetValue(prefix, out int at)) _routes[at] = (prefix, idx);
        else
        {
            _routeIndex[prefix] = _routes.Count;
            _routes.Add((prefix, idx));
            (prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? _lengths4 : _lengths6)[prefix.PrefixLength] = true;
        }
    }

    /// <summary>
    /// Adds (or replaces) an ECMP route over <paramref name="members"/> (Port next hops, at most 65535): they are
    /// stored side by side after a group entry the route names, so the route stage picks one with the flow hash.
    /// One member is a plain route.
    /// </summary>
    public void AddMultipathRoute(IPNetwork prefix, IReadOnlyList<NextHop> members) => AddRoute(prefix, MultipathNextHop(members));

    /// <summary>The next hop a route over <paramref name="members"/> names: the one member, or the group entry of
    /// the members laid out side by side (once per distinct member list; see <see cref="AddMultipathRoute"/>).</summary>
    public NextHop MultipathNextHop(IReadOnlyList<NextHop> members)
    {
        if (members.Count == 1) return members[0];
        if (members.Count == 0 || members.Count > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(members));
        foreach (var m in members)
            if (m.Kind is not (NextHopKind.Port or NextHopKind.Gateway))
                throw new ArgumentException($"ECMP members must be Port or Gateway next hops, got {m.Kind}", nameof(members));
        // Members are appended without sharing slots with single next hops: the group needs them contiguous.
        var key = new MemberList([.. members]);
        if (!_groups.TryGetValue(key, out uint first))
        {
            first = (uint)_nextHops.Count;
            _nextHops.AddRange(members);
            _groups[key] = first;
        }
        return NextHop.Multipath(first, (ushort)members.Count);
    }

    /// <summary>Adds a route unless one for exactly <paramref name="prefix"/> exists (a route already added, or a
    /// local pod's address as its host route): what ranks below every configured route, in one probe of the index.</summary>
    public bool TryAddRoute(IPNetwork prefix, NextHop nh)
    {
        if (prefix.PrefixLength == HostLength(prefix.BaseAddress) && _endpointHosts.ContainsKey(prefix.BaseAddress)) return false;
        ref int at = ref CollectionsMarshal.GetValueRefOrAddDefault(_routeIndex, prefix, out bool exists);
        if (exists) return false;
        at = _routes.Count;
        _routes.Add((prefix, AddNextHop(nh)));
        (prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? _lengths4 : _lengths6)[prefix.PrefixLength] = true;
        return true;
    }

    /// <summary>Whether a route for exactly <paramref name="prefix"/> exists.</summary>
    public bool HasRoute(IPNetwork prefix) =>
        _routeIndex.ContainsKey(prefix) || (prefix.PrefixLength == HostLength(prefix.BaseAddress) && _endpointHosts.ContainsKey(prefix.BaseAddress));

    /// <summary>Longest-prefix match over the routes and pods added so far (control plane: resolving gateways).</summary>
    public NextHop? Resolve(IPAddress address)
    {
        if (_endpointHosts.TryGetValue(address, out var pod)) return pod;
        bool v4 = address.AddressFamily == AddressFamily.InterNetwork;
        var lengths = v4 ? _lengths4 : _lengths6;
        uint key4 = v4 ? RoutePrefix.ToUInt32(address) : 0;
        UInt128 key6 = v4 ? 0 : RoutePrefix.ToUInt128(address);
        for (int length = lengths.Length - 1; length >= 0; length--)
        {
            if (!lengths[length]) continue;
            var net = new IPNetwork(v4 ? RoutePrefix.ToAddress(Lpm4.Mask(key4, length)) : RoutePrefix.ToAddress(Lpm6.Mask(key6, length)), length);
            if (_routeIndex.TryGetValue(net, out int at)) return _nextHops[(int)_routes[at].NextHop];
        }
        return null;
    }

    /// <summary>
    /// Builds the snapshot. When <paramref name="previous"/> was built from the same routes, its LPM tables are
    /// shared (they are immutable) instead of rebuilt: a policy or pod-label change then costs no 64 MiB table
    /// allocation and refill.
    /// </summary>
    /// <remarks>
    /// A pod's address normally falls in a <see cref="NextHopKind.NoEndpoint"/> route (its node's pod CIDR), where
    /// the route stage looks it up in <see cref="EndpointHosts"/>; those addresses stay out of the LPM and their
    /// next hops are numbered after every route's, so pods coming and going change neither. An address some
    /// other, longer route covers (a static or learned route inside the pod CIDR) would be shadowed by that route
    /// there, and one outside any pod CIDR (snapshots built by hand) would not be found: such an address becomes a
    /// host route in the LPM, which ranks it first as before.
    /// </remarks>
    public DatapathSnapshot Build(DatapathSnapshot? previous = null)
    {
        var routes = Canonical(_routes);
        var (lpm4, lpm6) = RouteTables.For(routes, previous);

        var hosts4 = new List<(uint, uint)>();
        var hosts6 = new List<(UInt128, uint)>();
        var shadowed = new List<(IPNetwork Prefix, uint NextHop)>();
        var endpointRoutes = ImmutableArray.CreateBuilder<(IPNetwork Prefix, uint NextHop)>(_endpointHosts.Count);
        foreach (var (ip, hop) in _endpointHosts.OrderBy(h => h.Value.Endpoint).ThenBy(h => h.Key.AddressFamily))
        {
            uint idx = AddNextHop(hop);
            var host = new IPNetwork(ip, HostLength(ip));
            endpointRoutes.Add((host, idx));
            bool v6 = ip.AddressFamily == AddressFamily.InterNetworkV6;
            bool covered = v6 ? lpm6.TryLookup(RoutePrefix.ToUInt128(ip), out uint cover) : lpm4.TryLookup(RoutePrefix.ToUInt32(ip), out cover);
            if (!covered || _nextHops[(int)cover].Kind != NextHopKind.NoEndpoint) shadowed.Add((host, idx));
            else if (v6) hosts6.Add((RoutePrefix.ToUInt128(ip), idx));
            else hosts4.Add((RoutePrefix.ToUInt32(ip), idx));
        }
        if (shadowed.Count > 0)
        {
            routes = Canonical([.. routes, .. shadowed]);
            (lpm4, lpm6) = RouteTables.For(routes, previous);
        }
        return new DatapathSnapshot(Generation, lpm4, lpm6, [.. _nextHops], [.. _ports], [.. _endpoints],
            RouterMac, VxlanPort, NodeName, Policy, routes)
        {
            Services = Services ?? Dataplane.Core.Services.ServiceState.Empty,
            Overlay = Overlay,
            Encryption = Encryption,
            ClusterRoutes = ClusterRoutes,
            ClusterNetmap = ClusterNetmap,
            L7Proxy = L7Proxy,
            StaticNeighbors = [.. _staticNeighbors],
            LocalHosts = hosts4.Count + hosts6.Count == 0 ? EndpointHosts.Empty : new EndpointHosts(hosts4, hosts6),
            EndpointRoutes = endpointRoutes.MoveToImmutable(),
        };
    }

    /// <summary>By family, prefix length, then address (as a number; equal prefixes keep the order they were
    /// added in). A million learned routes: keys are computed once and sorted with the items, no per-comparison
    /// conversion of addresses.</summary>
    private static ImmutableArray<(IPNetwork Prefix, uint NextHop)> Canonical(IReadOnlyList<(IPNetwork Prefix, uint NextHop)> routes)
    {
        var keys = new RouteOrder[routes.Count];
        var items = new (IPNetwork Prefix, uint NextHop)[routes.Count];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = routes[i];
            keys[i] = new RouteOrder(routes[i].Prefix, i);
        }
        Array.Sort(keys, items);
        return ImmutableCollectionsMarshal.AsImmutableArray(items);
    }

    /// <summary>An ECMP group's members, compared member by member (the key of <see cref="_groups"/>).</summary>
    private readonly struct MemberList(NextHop[] members) : IEquatable<MemberList>
    {
        private readonly NextHop[] _members = members;
        public bool Equals(MemberList other) => _members.AsSpan().SequenceEqual(other._members);
        public override bool Equals(object? obj) => obj is MemberList m && Equals(m);
        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (var m in _members) h.Add(m);
            return h.ToHashCode();
        }
    }

    private static int HostLength(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
}
