using Dataplane.Control.Config;
using Dataplane.Core.Identity;

namespace Dataplane.Control.Compiler;

/// <summary>
/// The identity labels of an external workload (a VM, a server, a subnet): its own labels, its namespace, the
/// labels of its Namespace object and the cluster, all source <c>k8s</c> — a pod's labels without the service
/// account, which a workload outside Kubernetes does not have. So <c>fromEndpoints: [{matchLabels: {app: billing}}]</c>
/// in a CiliumNetworkPolicy of the workload's namespace selects it exactly as it would select a pod. Cilium's
/// CiliumExternalWorkload derived the VM's identity the same way (its labels plus the namespace label).
/// </summary>
public static class ExternalWorkloadIdentity
{
    public static Dictionary<ExternalWorkloadSpec, LabelSet> Labels(ConfigModel model)
    {
        var result = new Dictionary<ExternalWorkloadSpec, LabelSet>(ReferenceEqualityComparer.Instance);
        if (model.ExternalWorkloads.IsDefaultOrEmpty) return result;
        var nsLabels = model.Namespaces.ToDictionary(n => n.Name, n => n.Labels, StringComparer.Ordinal);
        foreach (var w in model.ExternalWorkloads)
        {
            var labels = new List<Label>();
            foreach (var (k, v) in w.Labels) labels.Add(new Label(Label.SourceK8s, k, v));
            var ns = nsLabels.TryGetValue(w.Namespace, out var l) ? l : YNode.EmptyMap;
            // Kubernetes labels every namespace with its own name, as for pods.
            foreach (var (k, v) in ns.SetItem("kubernetes.io/metadata.name", w.Namespace))
                labels.Add(new Label(Label.SourceK8s, IdentityLabels.NamespaceLabelPrefix + k, v));
            labels.Add(new Label(Label.SourceK8s, IdentityLabels.NamespaceLabel, w.Namespace));
            labels.Add(new Label(Label.SourceK8s, IdentityLabels.ClusterLabel, IdentityLabels.DefaultCluster));
            result[w] = new LabelSet(labels);
        }
        return result;
    }
}
