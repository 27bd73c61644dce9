using Dataplane.Core.Identity;

namespace Dataplane.Control.Config;

/// <summary>
/// Cilium's policy entities (pkg/policy/api/entity.go) and the reserved labels each one selects. An entity is a
/// label selector, not a fixed number: <c>kube-apiserver</c> selects identity 7 and also the host identity when
/// the apiserver runs on this node (it then carries reserved:kube-apiserver); <c>remote-node</c> selects 6, 7 and
/// the per-node identities of remote nodes; <c>world</c> selects world (2), world-ipv4/-ipv6 (9/10) and every
/// CIDR identity (they carry their family's world label); <c>cluster</c> is host, remote-node, init, ingress,
/// health, unmanaged, kube-apiserver and every pod of this cluster; <c>all</c> is every identity; <c>none</c>
/// selects nothing. world-ipv4 and world-ipv6 are in Cilium's policy API but not in its CRD's enum, so the API
/// server refuses them in a CiliumNetworkPolicy — and so does this parser.
/// </summary>
public static class PolicyEntities
{
    public static readonly string[] Names =
    [
        "all", "world", "cluster", "host", "remote-node", "kube-apiserver",
        "init", "health", "unmanaged", "ingress", "none",
    ];

    private static readonly string[] ClusterReserved =
        ["host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver"];

    public static bool IsKnown(string name) => Array.IndexOf(Names, name) >= 0;

    /// <summary>Whether the entity <paramref name="name"/> selects an identity with these labels (not for "all").</summary>
    public static bool Selects(string name, LabelSet labels)
    {
        switch (name)
        {
            case "all": return true;
            case "none": return false;
            case "world":
                return Has(labels, "world") || Has(labels, "world-ipv4") || Has(labels, "world-ipv6");
            case "cluster":
                foreach (var r in ClusterReserved)
                    if (Has(labels, r)) return true;
                return labels.TryGet(Label.SourceK8s, IdentityLabels.ClusterLabel, out var c) && c == IdentityLabels.DefaultCluster;
            default:
                return Has(labels, name);
        }
    }

    private static bool Has(LabelSet labels, string reserved) => labels.TryGet(Label.SourceReserved, reserved, out _);
}
