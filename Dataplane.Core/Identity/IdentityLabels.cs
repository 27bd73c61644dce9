using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;

namespace Dataplane.Core.Identity;

/// <summary>How Cilium derives the label set of an endpoint or prefix.</summary>
public static class IdentityLabels
{
    public const string NamespaceLabel = "io.kubernetes.pod.namespace";
    public const string ServiceAccountLabel = "io.cilium.k8s.policy.serviceaccount";
    public const string ClusterLabel = "io.cilium.k8s.policy.cluster";
    public const string NamespaceLabelPrefix = "io.cilium.k8s.namespace.labels.";
    public const string DefaultCluster = "default";

    /// <summary>
    /// A pod's identity labels: its own labels, its namespace, its service account, the labels of its
    /// Namespace object and the cluster name, all from source <c>k8s</c>. Takes the pod's fields, not the
    /// config model's pod, so identities stay on the datapath side of the control/datapath split.
    /// </summary>
    public static LabelSet ForPod(IEnumerable<KeyValuePair<string, string>> podLabels, string podNamespace,
        string serviceAccount, ImmutableSortedDictionary<string, string>? namespaceLabels)
    {
        var labels = new List<Label>();
        foreach (var (k, v) in podLabels)
            if (!IsPerInstance(k)) labels.Add(new Label(Label.SourceK8s, k, v));
        if (namespaceLabels != null)
            foreach (var (k, v) in namespaceLabels) labels.Add(new Label(Label.SourceK8s, NamespaceLabelPrefix + k, v));
        labels.Add(new Label(Label.SourceK8s, NamespaceLabel, podNamespace));
        labels.Add(new Label(Label.SourceK8s, ServiceAccountLabel, serviceAccount));
        labels.Add(new Label(Label.SourceK8s, ClusterLabel, DefaultCluster));
        return new LabelSet(labels);
    }

    /// <summary>
    /// Labels that differ per pod instance or per rollout, which Cilium's default label filter keeps out of
    /// identities (otherwise every ReplicaSet or StatefulSet member would get its own identity).
    /// </summary>
    public static bool IsPerInstance(string key) => key is "pod-template-hash" or "controller-revision-hash"
        or "pod-template-generation" or "statefulset.kubernetes.io/pod-name" or "apps.kubernetes.io/pod-index"
        or "batch.kubernetes.io/job-completion-index" or "batch.kubernetes.io/controller-uid" or "controller-uid";

    /// <summary>
    /// The labels of a reserved identity as Cilium defines them (pkg/identity reservedIdentityLabels): its
    /// reserved:&lt;name&gt; label, and for kube-apiserver (7) reserved:remote-node as well — it stands for an
    /// apiserver on a remote node, so the remote-node entity selects it too.
    /// </summary>
    public static LabelSet Reserved(uint id) => id == NumericIdentity.KubeApiServer
        ? new([ReservedLabel(NumericIdentity.KubeApiServer), ReservedLabel(NumericIdentity.RemoteNode)])
        : new([ReservedLabel(id)]);

    /// <summary>reserved:&lt;name&gt; of a reserved identity.</summary>
    public static Label ReservedLabel(uint id) => new(Label.SourceReserved, NumericIdentity.ReservedName(id)!, "");

    /// <summary>
    /// A CIDR identity: <c>cidr:&lt;prefix&gt;</c> plus the world label of its family (world-ipv4/world-ipv6
    /// in dual-stack, world otherwise), so that the <c>world</c> entity selects every outside prefix.
    /// IPv6 colons are written as '-' in the label key, as Cilium does (label keys cannot hold ':').
    /// </summary>
    public static LabelSet ForCidr(IPNetwork prefix, bool dualStack)
    {
        var world = WorldIdentity(prefix.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6, dualStack);
        return new LabelSet([
            new Label(Label.SourceCidr, CidrKey(prefix), ""),
            new Label(Label.SourceReserved, NumericIdentity.ReservedName(world)!, ""),
        ]);
    }

    public static string CidrKey(IPNetwork prefix) => prefix.ToString().Replace(':', '-');

    /// <summary>Cilium's GetWorldIdentityFromIP: world-ipv4/world-ipv6 in dual-stack mode, world (2) otherwise.</summary>
    public static uint WorldIdentity(bool ipv6, bool dualStack) =>
        !dualStack ? NumericIdentity.World : ipv6 ? NumericIdentity.WorldIpv6 : NumericIdentity.WorldIpv4;
}
