namespace Dataplane.Control.Config;

/// <summary>
/// Accumulates parsed objects across all documents. Nothing here is visible outside the loader until
/// <see cref="ModelValidator"/> has accepted the whole set, which is what makes loading all-or-nothing.
/// </summary>
internal sealed class ModelBuilder
{
    private readonly Dictionary<(string Kind, string Namespace, string Name), SourceLocation> _seen = new();

    public List<ParsedNode> Nodes { get; } = new();
    public List<ParsedNamespace> Namespaces { get; } = new();
    public List<ParsedPod> Pods { get; } = new();
    public List<ParsedLocalNode> LocalNodes { get; } = new();
    public List<PolicySpec> Policies { get; } = new();
    public List<ServiceSpec> Services { get; } = new();
    public List<EndpointSliceSpec> EndpointSlices { get; } = new();
    public List<EgressGatewayPolicySpec> EgressPolicies { get; } = new();
    public List<Srv6VrfSpec> Srv6Vrfs { get; } = new();
    public List<Srv6EgressPolicySpec> Srv6EgressPolicies { get; } = new();
    public List<BgpClusterConfigSpec> BgpClusterConfigs { get; } = new();
    public List<BgpPeerConfigSpec> BgpPeerConfigs { get; } = new();
    public List<BgpAdvertisementSpec> BgpAdvertisements { get; } = new();
    public List<BgpNodeOverrideSpec> BgpNodeOverrides { get; } = new();
    public List<LbIpPoolSpec> LbIpPools { get; } = new();
    public List<CidrGroupSpec> CidrGroups { get; } = new();
    public List<SecretSpec> Secrets { get; } = new();
    public List<SkippedDocument> Skipped { get; } = new();
    public List<ServiceCidrSpec> ServiceCidrs { get; } = new();
    public List<ExternalWorkloadSpec> ExternalWorkloads { get; } = new();
    public List<GatewaySpec> Gateways { get; } = new();
    public List<HttpRouteSpec> HttpRoutes { get; } = new();
    /// <summary>Every document read, in order: what <c>validate</c> lists.</summary>
    public List<(SourceLocation At, string Kind, string Name)> Read { get; } = new();

    /// <summary>Rejects a second object with the same kind, namespace and name, blaming the later one.</summary>
    public void Register(ConfigDocument doc)
    {
        var key = (doc.Kind.Kind, doc.Namespace, doc.Name);
        if (_seen.TryGetValue(key, out var first))
            throw new ConfigException(doc.NameNode.At,
                $"duplicate {doc.Kind.Kind} {doc.QualifiedName} (first defined at {first})");
        _seen.Add(key, doc.Source);
        Read.Add((doc.Source, doc.Kind.Kind, doc.QualifiedName));
    }
}
