using System.Collections.Immutable;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Snapshot;

/// <summary>
/// Everything the workers read, compiled once by the control plane and never mutated afterwards. Workers load
/// the current snapshot once per batch; the control plane publishes a new one with a single reference store
/// (<see cref="SnapshotHolder"/>). Mutable datapath state (conntrack, NAT ports, counters) lives outside.
/// Native tables (LPM) are released by their finalizers once no worker can still hold the old snapshot.
/// </summary>
public sealed class DatapathSnapshot
{
    public DatapathSnapshot(
        long generation,
        Lpm4 routes4,
        Lpm6 routes6,
        NextHop[] nextHops,
        ImmutableArray<PortInfo> ports,
        EndpointInfo?[] endpoints,
        ulong routerMac,
        ushort vxlanPort,
        string nodeName,
        Policy.PolicyState? policy = null,
        ImmutableArray<(System.Net.IPNetwork Prefix, uint NextHop)> routes = default)
    {
        Routes = routes.IsDefault ? [] : routes;
        Policy = policy ?? Dataplane.Core.Policy.PolicyState.Empty(endpoints.Length);
        IpCache = Policy.IpCache;
        IngressPolicy = Policy.Ingress;
        EgressPolicy = Policy.Egress;
        HostFirewall = IngressPolicy.Length > 0 && (!ReferenceEquals(IngressPolicy[Dataplane.Core.Policy.HostEndpoint.PolicySlot], Dataplane.Core.Policy.PolicyMap.Unenforced)
            || !ReferenceEquals(EgressPolicy[Dataplane.Core.Policy.HostEndpoint.PolicySlot], Dataplane.Core.Policy.PolicyMap.Unenforced));
        Generation = generation;
        Routes4 = routes4;
        Routes6 = routes6;
        NextHops = nextHops;
        Ports = ports;
        PortKinds = ports.Select(p => p.Kind).ToArray();
        PortMacs = ports.Select(p => p.Mac).ToArray();
        PortEndpoints = ports.Select(p => p.Endpoint).ToArray();
        Endpoints = endpoints;
        RouterMac = routerMac;
        VxlanPort = vxlanPort;
        NodeName = nodeName;
    }

    public long Generation { get; }
    /// <summary>Identities, ipcache, policy maps and the rule table.</summary>
    public Policy.PolicyState Policy { get; }
    public IpCache.IpCacheMap IpCache { get; }
    /// <summary>Per endpoint id (same indexing as <see cref="Endpoints"/>).</summary>
    public Policy.PolicyMap[] IngressPolicy { get; }
    public Policy.PolicyMap[] EgressPolicy { get; }
    /// <summary>
    /// Host policies select this node (slot <see cref="Dataplane.Core.Policy.HostEndpoint.PolicySlot"/> holds a map):
    /// every packet to the host's addresses then goes through policy and conntrack, not only pods' packets.
    /// </summary>
    public bool HostFirewall { get; }
    /// <summary>The host firewall in policy audit mode: what the host's policies would drop passes, marked audited.</summary>
    public bool HostPolicyAudit => HostFirewall && Policy.HostAudit;
    public string NodeName { get; }
    /// <summary>The routes the LPM tables were built from (prefix → next-hop index), in canonical order; a
    /// later snapshot with the same list shares the tables instead of rebuilding them.</summary>
    public ImmutableArray<(System.Net.IPNetwork Prefix, uint NextHop)> Routes { get; }
    public Lpm4 Routes4 { get; }
    public Lpm6 Routes6 { get; }
    /// <summary>Indexed by the LPM result.</summary>
    public NextHop[] NextHops { get; }
    public ImmutableArray<PortInfo> Ports { get; }
    /// <summary>Flat per-port arrays for the hot path (no record dereference per packet).</summary>
    public PortKind[] PortKinds { get; }
    public ulong[] PortMacs { get; }
    public uint[] PortEndpoints { get; }
    /// <summary>Indexed by endpoint id; slot 0 is null.</summary>
    public EndpointInfo?[] Endpoints { get; }
    public ulong RouterMac { get; }
    /// <summary>UDP port recognised as VXLAN (0 = none).</summary>
    public ushort VxlanPort { get; }
    /// <summary>Local pods' addresses → next hop, for destinations the LPM sends to a pod CIDR (Cilium's endpoints map).</summary>
    public EndpointHosts LocalHosts { get; init; } = EndpointHosts.Empty;
    /// <summary>Every local pod address as the host route it is (prefix → next-hop index): what a FIB without an
    /// endpoints map (the eBPF program's LPM map) holds beside <see cref="Routes"/>. Shadowed ones are in both.</summary>
    public ImmutableArray<(System.Net.IPNetwork Prefix, uint NextHop)> EndpointRoutes { get; init; } = [];
    /// <summary>Service frontends and backends, masquerade and egress gateway state.</summary>
    public Services.ServiceState Services { get; init; } = Dataplane.Core.Services.ServiceState.Empty;
    /// <summary>Static neighbours of the config (they override resolution; listed with the learned ones).</summary>
    public ImmutableArray<StaticNeighbor> StaticNeighbors { get; init; } = [];
    /// <summary>Tunnel peers, local SIDs and decap rules (VXLAN/SRv6); empty = no overlay.</summary>
    public Overlay.OverlayState Overlay { get; init; } = Dataplane.Core.Overlay.OverlayState.Empty;
    /// <summary>Transparent encryption between nodes (WireGuard): peers and strict mode.</summary>
    public Encryption.EncryptionPlan Encryption { get; init; } = Dataplane.Core.Encryption.EncryptionPlan.Disabled;
    /// <summary>Other clusters' endpoints reached by (cluster, address): overlapping pod CIDRs in a Cluster Mesh.</summary>
    public ClusterAddressTable ClusterRoutes { get; init; } = ClusterAddressTable.Empty;
    /// <summary>Other clusters' pod CIDRs reachable here under translated ranges (pod to pod across an overlap).</summary>
    public ClusterNetmap ClusterNetmap { get; init; } = ClusterNetmap.Empty;
    /// <summary>The node's L7 proxy, when some policy entry carries L7 rules and the host runs one (null: none).</summary>
    public L7.ProxyTarget? L7Proxy { get; init; }
}
