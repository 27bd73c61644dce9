namespace Dataplane.Control.Config;

/// <summary>
/// Cilium's policy entities (pkg/policy/api/entity.go, as its CRD validation accepts them). world-ipv4 and
/// world-ipv6 are internal splits of <c>world</c> in Cilium, not selectable in policy.
/// </summary>
public static class PolicyEntities
{
    public static readonly string[] Names =
    [
        "all", "world", "cluster", "host", "remote-node", "kube-apiserver",
        "init", "health", "unmanaged", "ingress",
    ];

    public static bool IsKnown(string name) => Array.IndexOf(Names, name) >= 0;
}
