using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;
using Dataplane.Core.Policy;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Identities and ipcache entries that come from outside the configuration — Cluster Mesh learns them from
/// other clusters' kvstores — with numbers fixed by whoever allocated them. Selectors in policy match their
/// labels like any pod's (e.g. <c>io.cilium.k8s.policy.cluster</c>).
/// </summary>
public sealed record ExternalIdentities(IReadOnlyList<SecurityIdentity> Identities, IReadOnlyList<IpCacheEntry> IpCache)
{
    /// <summary>
    /// This cluster's own pods' identities when the kvstore numbers them (Cluster Mesh: a VXLAN VNI carries the
    /// number, so every cluster must agree on it), keyed by the <see cref="LabelSet.Key"/> that
    /// <see cref="IdentityLabels.ForPod"/> gives the pod. The value's labels name the real cluster (they replace
    /// the config's <c>io.cilium.k8s.policy.cluster=default</c>). Label sets not in here are numbered locally.
    /// </summary>
    public IReadOnlyDictionary<string, SecurityIdentity> Pinned { get; init; } = new Dictionary<string, SecurityIdentity>();

    /// <summary>
    /// Endpoints of other clusters reached by (cluster, address) — global-service backends when pod CIDRs overlap —
    /// with the node hosting each: compiled into the snapshot's <see cref="Core.Routing.ClusterAddressTable"/>.
    /// </summary>
    public IReadOnlyList<ClusterEndpoint> ClusterEndpoints { get; init; } = [];

    /// <summary>Other clusters' pod CIDRs reached here under translated ranges (pod to pod across an overlap); their
    /// pods must be in <see cref="ClusterEndpoints"/> too. Compiled into the snapshot's <see cref="Core.Routing.ClusterNetmap"/>.</summary>
    public IReadOnlyList<ClusterTranslation> ClusterTranslations { get; init; } = [];
}

/// <summary>Cluster <paramref name="Cluster"/>'s pod CIDR <paramref name="PodCidr"/> is reached here as <paramref name="As"/> (same length, IPv4).</summary>
public sealed record ClusterTranslation(byte Cluster, System.Net.IPNetwork PodCidr, System.Net.IPNetwork As);

/// <summary>An endpoint of cluster <paramref name="Cluster"/> (its ID), its identity and the node (InternalIP) hosting it.</summary>
public sealed record ClusterEndpoint(byte Cluster, System.Net.IPAddress Address, uint Identity, System.Net.IPAddress HostIp);
