using Dataplane.Control.Config;

namespace Dataplane.ClusterMesh.Config;

/// <summary>
/// <c>dataplane.io/v1alpha1 ClusterMeshConfig</c>: this node's cluster (name, ID, its etcd) and the remote
/// clusters it connects to. Validated whole by <see cref="ClusterMeshConfigLoader"/>.
/// </summary>
public sealed record ClusterMeshConfig(string Cluster, uint ClusterId, IReadOnlyList<string> Endpoints, TimeSpan LeaseTtl,
    IReadOnlyList<RemoteClusterConfig> RemoteClusters, SourceLocation Source);

/// <summary>A remote cluster: its name and ID (as it calls itself) and its etcd endpoints.</summary>
public sealed record RemoteClusterConfig(string Name, uint Id, IReadOnlyList<string> Endpoints, SourceLocation Source = default);
