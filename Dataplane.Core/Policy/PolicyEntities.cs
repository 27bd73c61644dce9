namespace Dataplane.Core.Policy;

/// <summary>Cilium's policy entities (pkg/policy/api/entity.go).</summary>
public static class PolicyEntities
{
    public static readonly string[] Names =
    [
        "all", "world", "world-ipv4", "world-ipv6", "cluster", "host", "remote-node", "kube-apiserver",
        "init", "health", "unmanaged", "ingress",
    ];

    public static bool IsKnown(string name) => Array.IndexOf(Names, name) >= 0;
}
