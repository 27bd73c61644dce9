using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Model;

namespace Dataplane.ClusterMesh.Publish;

/// <summary>
/// This node in its own cluster's etcd: one lease, the node record, its endpoints' ipcache entries and the
/// shared global services it exports (all bound to the lease, so they vanish when the node dies), and the
/// identity allocator.
/// </summary>
public sealed class LocalNode : IAsyncDisposable
{
    private readonly bool _ownsConnection;

    public string Cluster { get; }
    public uint ClusterId { get; }
    public string NodeName { get; }
    public EtcdConnection Etcd { get; }
    public LeaseSession Lease { get; }
    public KeyPublisher Publisher { get; }
    public IdentityAllocator Identities { get; }

    /// <param name="nodeSuffix">Suffix of this node's identity value keys; Cilium uses the node's IP.</param>
    public LocalNode(EtcdConnection etcd, string cluster, uint clusterId, string nodeName, string nodeSuffix, TimeSpan leaseTtl,
        bool ownsConnection = false)
    {
        Etcd = etcd;
        Cluster = cluster;
        ClusterId = clusterId;
        NodeName = nodeName;
        _ownsConnection = ownsConnection;
        Lease = new LeaseSession(etcd, leaseTtl);
        Publisher = new KeyPublisher(etcd, Lease);
        Identities = new IdentityAllocator(etcd, Lease, clusterId, nodeSuffix);
    }

    /// <summary>Starts the lease, the publisher and the identity watch; advertises the cluster's ID.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        Lease.Start();
        Publisher.Start();
        // Cluster-level, not this node's: written without the lease (every node writes the same value).
        await Etcd.PutAsync(CiliumKeys.ClusterConfigOf(Cluster), new ClusterConfigRecord { Id = ClusterId }.ToJson(), 0, ct).ConfigureAwait(false);
        await Identities.StartAsync(ct).ConfigureAwait(false);
    }

    public void PublishNode(NodeRecord node) =>
        Publisher.Set(CiliumKeys.Node(Cluster, node.Name), (node with { Cluster = Cluster, ClusterId = ClusterId }).ToJson());

    public void PublishEndpoint(IpIdentityPair entry) => Publisher.Set(CiliumKeys.Ip(entry.KeyName), entry.ToJson());

    public void RemoveEndpoint(string keyName) => Publisher.Remove(CiliumKeys.Ip(keyName));

    /// <summary>Exports a global service; only shared ones are published, as Cilium does.</summary>
    public void PublishService(ClusterService service)
    {
        var s = service with { Cluster = Cluster, ClusterId = ClusterId };
        var key = CiliumKeys.Service(Cluster, s.Namespace, s.Name);
        if (s.IncludeExternal && s.Shared) Publisher.Set(key, s.ToJson());
        else Publisher.Remove(key);
    }

    public void RemoveService(string ns, string name) => Publisher.Remove(CiliumKeys.Service(Cluster, ns, name));

    public Task FlushAsync(CancellationToken ct) => Publisher.FlushAsync(ct);

    /// <summary>Stops without revoking the lease (a crash): the node's keys expire after the TTL.</summary>
    public async Task CrashAsync()
    {
        await Publisher.DisposeAsync().ConfigureAwait(false);
        await Lease.AbandonAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await Identities.DisposeAsync().ConfigureAwait(false);
        await Publisher.DisposeAsync().ConfigureAwait(false);
        await Lease.DisposeAsync().ConfigureAwait(false);
        if (_ownsConnection) Etcd.Dispose();
    }
}
