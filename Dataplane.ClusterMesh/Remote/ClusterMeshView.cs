using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;
using Dataplane.Core.Policy;
using Dataplane.Control.Compiler;

namespace Dataplane.ClusterMesh.Remote;

/// <summary>
/// Everything a node learns from the remote clusters of its <see cref="ClusterMeshConfig"/>: their identities
/// and ipcache entries (for policy, via <see cref="PolicyInput"/>), their nodes (tunnel endpoints) and their
/// shared services (for <see cref="Services.GlobalServiceMerge"/>). Each remote cluster keeps its last known
/// state while its etcd is unreachable.
/// </summary>
public sealed class ClusterMeshView : IAsyncDisposable
{
    private readonly List<RemoteCluster> _remotes;

    public IReadOnlyList<RemoteCluster> Remotes => _remotes;
    /// <summary>Raised after any remote table changed (on a watcher task).</summary>
    public event Action? Changed;

    public ClusterMeshView(IEnumerable<RemoteClusterConfig> remotes, EtcdOptions? options = null)
    {
        _remotes = [.. remotes.Select(r => new RemoteCluster(r, options))];
        foreach (var r in _remotes) r.Changed += _ => Changed?.Invoke();
    }

    public ClusterMeshView(ClusterMeshConfig config, EtcdOptions? options = null) : this(config.RemoteClusters, options)
    {
        foreach (var r in _remotes)
            r.IdUsedBy = id => id == config.ClusterId ? config.Cluster : _remotes.FirstOrDefault(o => o != r && o.ClusterId == id)?.Name;
    }

    /// <summary>Starts every remote cluster's watches and waits until each listed once.</summary>
    public Task StartAsync(CancellationToken ct) => Task.WhenAll(_remotes.Select(r => r.StartAsync(ct)));

    /// <summary>Every remote endpoint keyed by (cluster ID, prefix): overlapping pod CIDRs stay distinct.</summary>
    public Dictionary<(uint ClusterId, IPNetwork Prefix), RemoteEndpoint> Endpoints()
    {
        var result = new Dictionary<(uint, IPNetwork), RemoteEndpoint>();
        foreach (var r in _remotes)
            foreach (var e in r.Endpoints()) result[(e.ClusterId, e.Prefix)] = e;
        return result;
    }

    public List<TunnelEndpoint> TunnelEndpoints() => [.. _remotes.SelectMany(r => r.Nodes())];

    /// <summary>The shared services of every remote cluster with this namespace and name.</summary>
    public List<Model.ClusterService> ServicesNamed(string ns, string name) =>
        [.. _remotes.SelectMany(r => r.Services()).Where(s => s.Namespace == ns && s.Name == name)];

    /// <summary>
    /// Remote identities (their labels carry <c>io.cilium.k8s.policy.cluster=&lt;name&gt;</c>) and ipcache
    /// entries for <see cref="PolicyCompiler.Compile"/>. An address published by more than one cluster
    /// (overlapping pod CIDRs) is left out of the address-keyed ipcache — it cannot name one identity — and
    /// stays reachable through <see cref="Endpoints"/>, keyed by cluster, for datapaths that carry the
    /// source cluster/identity in the tunnel header.
    /// </summary>
    public ExternalIdentities PolicyInput()
    {
        var identities = new List<SecurityIdentity>();
        foreach (var r in _remotes)
            foreach (var (id, labels) in r.Identities()) identities.Add(new SecurityIdentity(id, labels));
        var byPrefix = new Dictionary<IPNetwork, List<RemoteEndpoint>>();
        foreach (var r in _remotes)
            foreach (var e in r.Endpoints())
            {
                if (!byPrefix.TryGetValue(e.Prefix, out var list)) byPrefix[e.Prefix] = list = [];
                list.Add(e);
            }
        var entries = new List<IpCacheEntry>();
        foreach (var (prefix, list) in byPrefix.OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal))
            if (list.Count == 1) entries.Add(new IpCacheEntry(prefix, list[0].Identity, list[0].HostIp));
        return new ExternalIdentities(identities, entries);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var r in _remotes) await r.DisposeAsync().ConfigureAwait(false);
    }
}
