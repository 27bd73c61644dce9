namespace Dataplane.Control.Config;

/// <summary>Reads one document of a kind into the builder; throws <see cref="ConfigException"/> on error.</summary>
internal delegate void KindParser(ConfigDocument doc, ModelBuilder into);

/// <summary>A supported (apiVersion, kind) and how to parse it. Adding a kind is one entry in <see cref="KindRegistry"/>.</summary>
internal sealed record KindInfo(string ApiVersion, string Kind, bool Namespaced, KindParser Parse);

/// <summary>The kinds the loader accepts.</summary>
internal static class KindRegistry
{
    public static readonly IReadOnlyDictionary<(string ApiVersion, string Kind), KindInfo> Kinds =
        ((KindInfo[])
        [
            new("v1", "Node", Namespaced: false, NodeParser.Parse),
            new("v1", "Namespace", Namespaced: false, NamespaceParser.Parse),
            new("v1", "Pod", Namespaced: true, PodParser.Parse),
            new("dataplane.io/v1alpha1", "DataplaneNode", Namespaced: false, DataplaneNodeParser.Parse),
            new("dataplane.io/v1alpha1", "ExternalWorkload", Namespaced: true, ExternalWorkloadParser.Parse),
            new("dataplane.io/v1alpha1", "DataplaneGateway", Namespaced: false, GatewayParser.Parse),
            new("cilium.io/v2", "CiliumNetworkPolicy", Namespaced: true, PolicyParser.ParseCnp),
            new("cilium.io/v2", "CiliumClusterwideNetworkPolicy", Namespaced: false, PolicyParser.ParseCcnp),
            new("networking.k8s.io/v1", "NetworkPolicy", Namespaced: true, NetworkPolicyParser.Parse),
            new("gateway.networking.k8s.io/v1", "HTTPRoute", Namespaced: true, HttpRouteParser.Parse),
            new("v1", "Service", Namespaced: true, ServiceParser.Parse),
            new("discovery.k8s.io/v1", "EndpointSlice", Namespaced: true, EndpointSliceParser.Parse),
            new("cilium.io/v2", "CiliumEgressGatewayPolicy", Namespaced: false, EgressGatewayPolicyParser.Parse),
            new("cilium.io/v2alpha1", "CiliumSRv6VRF", Namespaced: false, Srv6PolicyParser.ParseVrf),
            new("cilium.io/v2alpha1", "CiliumSRv6EgressPolicy", Namespaced: false, Srv6PolicyParser.ParseEgressPolicy),
            new("v1", "Secret", Namespaced: true, SecretParser.Parse),
            new("networking.k8s.io/v1", "ServiceCIDR", Namespaced: false, ServiceCidrParser.Parse),
            new("networking.k8s.io/v1beta1", "ServiceCIDR", Namespaced: false, ServiceCidrParser.Parse),
            // BGP control plane v2 resources, LB-IPAM pools and CIDR groups, under both versions Cilium has served them.
            .. BothVersions("CiliumBGPClusterConfig", BgpClusterConfigParser.Parse),
            .. BothVersions("CiliumBGPPeerConfig", BgpPeerConfigParser.Parse),
            .. BothVersions("CiliumBGPAdvertisement", BgpAdvertisementParser.Parse),
            .. BothVersions("CiliumBGPNodeConfigOverride", BgpNodeOverrideParser.Parse),
            .. BothVersions("CiliumLoadBalancerIPPool", LbIpPoolParser.Parse),
            .. BothVersions("CiliumCIDRGroup", CidrGroupParser.Parse),
        ]).ToDictionary(k => (k.ApiVersion, k.Kind));

    private static KindInfo[] BothVersions(string kind, KindParser parse) =>
        [new("cilium.io/v2alpha1", kind, Namespaced: false, parse), new("cilium.io/v2", kind, Namespaced: false, parse)];

    /// <summary>The apiVersions a kind is known under, to turn "unsupported" into a useful hint.</summary>
    public static IEnumerable<string> ApiVersionsOf(string kind) =>
        Kinds.Values.Where(k => k.Kind == kind).Select(k => k.ApiVersion);
}
