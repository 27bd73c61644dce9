using System.Collections.Immutable;

namespace Dataplane.Control.Config;

/// <summary>
/// The whole validated configuration. Only <see cref="ConfigLoader"/> produces instances that are known to
/// be consistent. Arrays are in source order: files by ordinal path, then documents within a file.
/// </summary>
public sealed record ConfigModel(LocalNodeSpec Local, ImmutableArray<NodeSpec> Nodes,
    ImmutableArray<NamespaceSpec> Namespaces, ImmutableArray<PodSpec> Pods, ImmutableArray<PolicySpec> Policies,
    ImmutableArray<Srv6VrfSpec> Srv6Vrfs = default, ImmutableArray<Srv6EgressPolicySpec> Srv6EgressPolicies = default)
{
    public ImmutableArray<ServiceSpec> Services { get; init; } = [];
    public ImmutableArray<EndpointSliceSpec> EndpointSlices { get; init; } = [];
    /// <summary>Documents of kinds the dataplane does not read (Deployment, ConfigMap …): kept out, and said.</summary>
    public ImmutableArray<SkippedDocument> Skipped { get; init; } = [];
    public ImmutableArray<EgressGatewayPolicySpec> EgressGatewayPolicies { get; init; } = [];
    /// <summary>Cilium BGP resources (passwords resolved from their Secrets); the host's BGP speaker runs them.</summary>
    public BgpConfigSpec Bgp { get; init; } = BgpConfigSpec.Empty;
    public ImmutableArray<LbIpPoolSpec> LbIpPools { get; init; } = [];
    /// <summary>CiliumCIDRGroups: named outside prefixes that policies (and other kinds) reference by name or labels.</summary>
    public ImmutableArray<CidrGroupSpec> CidrGroups { get; init; } = [];

    /// <summary>The CiliumCIDRGroup named <paramref name="name"/>, or null (a reference may precede its group).</summary>
    public CidrGroupSpec? CidrGroup(string name) => CidrGroups.FirstOrDefault(g => g.Name == name);
    /// <summary>What LB-IPAM gave (already in the services' LoadBalancerIps) and who is still waiting.</summary>
    public ImmutableArray<LbIpAllocation> LbIpAllocations { get; init; } = [];
    public ImmutableArray<LbIpPending> LbIpPending { get; init; } = [];
    /// <summary>VMs, servers and subnets outside Kubernetes with identities from their labels (ExternalWorkload).</summary>
    public ImmutableArray<ExternalWorkloadSpec> ExternalWorkloads { get; init; } = [];
    /// <summary>DataplaneGateway documents: read by <c>dataplane-gateway</c> (its own), ignored by a node.</summary>
    public ImmutableArray<GatewaySpec> Gateways { get; init; } = [];
    /// <summary>Gateway API HTTPRoutes attached to Services (mesh form): the node's L7 proxy routes their traffic by weight.</summary>
    public ImmutableArray<HttpRouteSpec> HttpRoutes { get; init; } = [];
    /// <summary>Routes learned at run time (BGP), compiled under every configured route; not from the files.</summary>
    public ImmutableArray<LearnedRouteSpec> LearnedRoutes { get; init; } = [];
    /// <summary>Names and addresses the node's DNS proxy learned (toFQDNs), held until they expire; not from the files.</summary>
    public ImmutableArray<Dataplane.Core.L7.FqdnIp> FqdnIps { get; init; } = [];

    /// <summary>The Node object for this node (validation guarantees it exists).</summary>
    public NodeSpec LocalNode => Nodes.First(n => n.Name == Local.Name);

    /// <summary>
    /// What this node routes toward <paramref name="peer"/>: the peer's pod CIDRs (and <see cref="NodeSpec.TunnelledAddresses"/>), the addresses of the external
    /// workloads it serves as their gateway and, when the peer is a transit gateway whose DataplaneGateway is in the
    /// directory, the on-prem prefixes it serves (pods reach on-prem networks through it, and replies to on-prem
    /// clients of a portal service return through it). Nothing of the local node's own; each prefix once. A gateway
    /// does not route to another gateway what lies inside its own on-prem prefixes (two gateways serving the same
    /// networks reach them directly, by the routes they learn on-prem).
    /// </summary>
    public ImmutableArray<System.Net.IPNetwork> RoutedTo(NodeSpec peer)
    {
        if (peer.Name == Local.Name) return peer.PodCidrs;
        if (ExternalWorkloads.IsEmpty && Gateways.IsEmpty && peer.TunnelledAddresses.IsDefaultOrEmpty) return peer.PodCidrs;
        var served = Gateways.Where(g => g.Name == Local.Name).SelectMany(g => g.OnPremPrefixes).ToList();
        return [.. peer.PodCidrs
            .Concat(peer.TunnelledAddresses.IsDefault ? [] : peer.TunnelledAddresses)
            .Concat(ExternalWorkloads.Where(w => w.Gateway == peer.Name).SelectMany(w => w.Addresses)
                .Concat(Gateways.Where(g => g.Name == peer.Name).SelectMany(g => g.OnPremPrefixes))
                .Where(p => !served.Any(s => s.Contains(p.BaseAddress) && s.PrefixLength <= p.PrefixLength)))
            .Distinct()];
    }

    /// <summary>
    /// Whether this host is a gateway of <paramref name="w"/> and so enforces its policy: the workload names it, or
    /// every address of the workload lies inside this host's own DataplaneGateway's on-prem prefixes — the second
    /// gateway of a highly available pair carries the workload's traffic as the first does, and must enforce alike.
    /// </summary>
    public bool Serves(ExternalWorkloadSpec w)
    {
        if (w.Gateway == Local.Name) return true;
        var own = Gateways.FirstOrDefault(g => g.Name == Local.Name);
        return own is not null && w.Addresses.All(a => own.OnPremPrefixes.Any(p => p.Contains(a.BaseAddress) && p.PrefixLength <= a.PrefixLength));
    }

    /// <summary>Pods scheduled on this node: the endpoints this dataplane delivers to directly.</summary>
    public IEnumerable<PodSpec> LocalPods => Pods.Where(p => p.NodeName == Local.Name);
}

/// <summary>A document of a kind the dataplane does not read, skipped rather than refused (a directory holds a whole app).</summary>
public sealed record SkippedDocument(SourceLocation At, string ApiVersion, string Kind, string Name)
{
    public override string ToString() => $"{At}: skipped {Kind} {Name} ({ApiVersion}): not a kind the dataplane reads";
}
