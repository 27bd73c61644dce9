using Dataplane.Control.Config;

namespace Dataplane.Control.Compiler;

/// <summary>Whether a model needs the node's L7 proxy.</summary>
public static class L7Rules
{
    /// <summary>Some policy's toPorts entry carries L7 (HTTP or DNS) rules, or an HTTPRoute needs the proxy.</summary>
    public static bool Any(ConfigModel model) =>
        !model.HttpRoutes.IsEmpty || model.Policies.Any(p => p.Rules.Any(r => HasHttp(r.Ingress) || HasHttp(r.Egress)));

    private static bool HasHttp(System.Collections.Immutable.ImmutableArray<PeerRule> rules) =>
        rules.Any(peer => peer.Ports.Any(pp => pp.L7 is not null));
}
