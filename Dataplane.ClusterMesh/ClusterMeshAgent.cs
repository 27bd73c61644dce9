using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Remote;

namespace Dataplane.ClusterMesh;

/// <summary>
/// Cluster Mesh for one node, from its <see cref="ClusterMeshConfig"/>: <see cref="Local"/> publishes this node,
/// its endpoints and shared services into its own cluster's etcd and allocates identities there;
/// <see cref="View"/> watches every remote cluster.
/// </summary>
public sealed class ClusterMeshAgent : IAsyncDisposable
{
    public ClusterMeshConfig Config { get; }
    public LocalNode Local { get; }
    public ClusterMeshView View { get; }

    /// <param name="nodeIp">The node's IP: the suffix of its identity value keys, as in Cilium.</param>
    public ClusterMeshAgent(ClusterMeshConfig config, string nodeName, IPAddress nodeIp, EtcdOptions? options = null)
    {
        Config = config;
        Local = new LocalNode(new EtcdConnection(config.EtcdClient, options), config.Cluster, config.ClusterId, nodeName,
            nodeIp.ToString(), config.LeaseTtl, ownsConnection: true);
        View = new ClusterMeshView(config, options);
    }

    public async Task StartAsync(CancellationToken ct)
    {
        await Local.StartAsync(ct).ConfigureAwait(false);
        await View.StartAsync(ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await View.DisposeAsync().ConfigureAwait(false);
        await Local.DisposeAsync().ConfigureAwait(false);
    }
}
