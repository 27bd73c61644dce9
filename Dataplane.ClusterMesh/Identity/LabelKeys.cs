using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Identity;

/// <summary>
/// The label-set key stored in etcd (Cilium's <c>SortedList()</c>: <c>source:key=value;</c> per label, sorted
/// by key, trailing semicolon) back into a <see cref="LabelSet"/>, and the labels a pod gets in a named cluster.
/// </summary>
public static class LabelKeys
{
    /// <summary>Parses a label key; false when it is not one (a malformed value written by someone else).</summary>
    public static bool TryParse(string text, out LabelSet labels)
    {
        labels = new LabelSet([]);
        if (text.Length == 0 || text[^1] != ';') return false;
        var list = new List<Label>();
        foreach (var part in text[..^1].Split(';'))
        {
            int colon = part.IndexOf(':');
            int eq = part.IndexOf('=', colon + 1);
            if (colon <= 0 || eq < 0 || eq == colon + 1) return false;
            list.Add(new Label(part[..colon], part[(colon + 1)..eq], part[(eq + 1)..]));
        }
        labels = new LabelSet(list);
        return true;
    }

    /// <summary>
    /// A pod's identity labels as an agent of cluster <paramref name="cluster"/> computes them: as Core's
    /// <see cref="IdentityLabels.ForPod"/> but with <c>io.cilium.k8s.policy.cluster</c> set to the cluster's name.
    /// </summary>
    public static LabelSet InCluster(LabelSet podLabels, string cluster) =>
        new([.. podLabels.Labels, new Label(Label.SourceK8s, IdentityLabels.ClusterLabel, cluster)]);
}
