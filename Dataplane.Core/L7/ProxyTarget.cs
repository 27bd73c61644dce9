using Dataplane.Core.Routing;

namespace Dataplane.Core.L7;

/// <summary>
/// Where the datapath redirects connections whose policy entry carries L7 rules: the node's L7 proxy, a local
/// endpoint of its own (<see cref="Endpoint"/>, reached through <see cref="Hop"/>) listening on
/// <see cref="Address"/>:<see cref="ListenPort"/> (IPv4, host order), as Cilium's bpf redirects to its proxy port.
/// </summary>
public sealed record ProxyTarget(uint Endpoint, uint Address, ushort ListenPort, NextHop Hop)
{
    /// <summary>The DNS proxy's UDP port on the same address (0: none).</summary>
    public ushort DnsPort { get; init; }

    /// <summary>Service frontends whose connections go to the proxy for an HTTPRoute (IPv4; scanned only for service traffic).</summary>
    public RouteFrontend[] Frontends { get; init; } = [];

    /// <summary>The HTTPRoutes, indexed by <see cref="RouteFrontend.Route"/> − 1.</summary>
    public System.Collections.Immutable.ImmutableArray<HttpRoute> Routes { get; init; } = [];
}
