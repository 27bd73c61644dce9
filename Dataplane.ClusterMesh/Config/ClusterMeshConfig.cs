using Dataplane.ClusterMesh.Kvstore;
using Dataplane.Control.Config;

namespace Dataplane.ClusterMesh.Config;

/// <summary>
/// <c>dataplane.io/v1alpha1 ClusterMeshConfig</c>: this node's cluster (name, ID, its etcd) and the remote
/// clusters it connects to. Validated whole by <see cref="ClusterMeshConfigLoader"/>.
/// </summary>
public sealed record ClusterMeshConfig(string Cluster, uint ClusterId, IReadOnlyList<string> Endpoints, TimeSpan LeaseTtl,
    IReadOnlyList<RemoteClusterConfig> RemoteClusters, SourceLocation Source)
{
    /// <summary>This cluster's etcd with TLS and auth when read from an etcd config file; plain endpoints otherwise.</summary>
    public EtcdClientConfig? Etcd { get; init; }
    public EtcdClientConfig EtcdClient => Etcd ?? new EtcdClientConfig(Endpoints);

    /// <summary>
    /// <c>enableOverlappingPodCIDRSupport</c> (Cilium's Helm <c>clustermesh.enableOverlappingPodCIDRSupport</c>:
    /// cluster-aware addressing with inter-cluster SNAT): other clusters' global-service backends are reached by
    /// (cluster, address) through the tunnel to their node, SNATed to this node's address, so clusters may share pod CIDRs.
    /// </summary>
    public bool OverlappingPodCidrs { get; init; }
}

/// <summary>
/// A remote cluster: its name and ID (as it calls itself) and its etcd. An <see cref="Id"/> of 0 is learned from
/// the cluster's own <c>cilium/cluster-config/&lt;name&gt;</c> key, as Cilium does for the clusters of a
/// clustermesh directory.
/// </summary>
public sealed record RemoteClusterConfig(string Name, uint Id, IReadOnlyList<string> Endpoints, SourceLocation Source = default)
{
    /// <summary>
    /// <c>translatedPodCIDRs: [{podCIDR, as}]</c> (with overlapping pod CIDR support): this cluster's pods in
    /// <c>podCIDR</c> are reached from ours as <c>as</c> (same length, host part kept), pod to pod.
    /// </summary>
    public IReadOnlyList<(System.Net.IPNetwork PodCidr, System.Net.IPNetwork As)> TranslatedPodCidrs { get; init; } = [];

    /// <summary>The cluster's etcd with TLS and auth when read from an etcd config file; plain endpoints otherwise.</summary>
    public EtcdClientConfig? Etcd { get; init; }
    public EtcdClientConfig EtcdClient => Etcd ?? new EtcdClientConfig(Endpoints);
}
