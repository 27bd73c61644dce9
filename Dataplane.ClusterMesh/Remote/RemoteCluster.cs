using System.Globalization;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Model;
using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Remote;

/// <summary>
/// Another cluster seen through its etcd: its identities, ipcache, nodes and shared services, each a
/// <see cref="PrefixWatcher"/> (so the last known state survives an outage and is resynced after it) decoded
/// into typed tables. Entries that do not belong to that cluster — identities outside its range, records
/// naming another cluster or ID, malformed JSON — are left out and counted in <see cref="Rejected"/>.
/// </summary>
public sealed class RemoteCluster : IAsyncDisposable
{
    private readonly EtcdConnection _etcd;
    private readonly PrefixWatcher _identities, _ipcache, _nodes, _services;
    private readonly object _gate = new();
    private readonly Dictionary<uint, LabelSet> _ids = [];
    private readonly Dictionary<string, RemoteEndpoint> _endpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeRecord> _nodeRecords = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ClusterService> _serviceRecords = new(StringComparer.Ordinal);
    private long _rejected;
    private volatile bool _watchesStarted;

    public RemoteClusterConfig Config { get; }
    public string Name => Config.Name;
    /// <summary>The configured ID, or (configured as 0) the one the cluster advertises, learned on start.</summary>
    public uint ClusterId { get; private set; }
    /// <summary>Which other cluster of the mesh has this ID (null: none); checked before an ID is learned.</summary>
    public Func<uint, string?>? IdUsedBy { get; set; }
    /// <summary>This cluster's etcd connection (its TLS and auth state, file reloads).</summary>
    public EtcdConnection Etcd => _etcd;
    /// <summary>Raised (on a watcher task) after any table changed.</summary>
    public event Action<RemoteCluster>? Changed;
    public long Rejected => Interlocked.Read(ref _rejected);
    public string? LastRejection { get; private set; }
    /// <summary>All four watches connected and caught up.</summary>
    public bool Connected => _identities.Connected && _ipcache.Connected && _nodes.Connected && _services.Connected;
    public IEnumerable<PrefixWatcher> Watchers => [_identities, _ipcache, _nodes, _services];

    public RemoteCluster(RemoteClusterConfig config, EtcdOptions? options = null)
    {
        Config = config;
        ClusterId = config.Id;
        _etcd = new EtcdConnection(config.EtcdClient, options);
        _identities = Watch(CiliumKeys.IdentityIds, OnIdentity);
        _ipcache = Watch(CiliumKeys.IpCache, OnIpCache);
        _nodes = Watch(CiliumKeys.NodePrefix(config.Name), OnNode);
        _services = Watch(CiliumKeys.ServicePrefix(config.Name), OnService);
    }

    private PrefixWatcher Watch(string prefix, Action<KvChange> apply)
    {
        var w = new PrefixWatcher(_etcd, prefix);
        w.Changed += changes =>
        {
            lock (_gate) foreach (var c in changes) apply(c);
            Changed?.Invoke(this);
        };
        return w;
    }

    /// <summary>
    /// Checks the cluster's advertised configuration (<c>cilium/cluster-config/&lt;name&gt;</c>, when it has one)
    /// against ours — a different ID would put its identities in the wrong range — or, configured without an ID,
    /// takes its ID from there (then the key is required); then starts the watches and waits until each has listed once.
    /// </summary>
    public async Task StartAsync(CancellationToken ct)
    {
        var kv = await _etcd.GetAsync(CiliumKeys.ClusterConfigOf(Name), ct).ConfigureAwait(false);
        if (kv == null && ClusterId == 0)
            throw new InvalidOperationException($"remote cluster {Name}: no cluster config at {CiliumKeys.ClusterConfigOf(Name)} to learn its ID from (give it an id)");
        if (kv != null)
        {
            var cfg = ClusterConfigRecord.Parse(kv.Value.ToStringUtf8())
                      ?? throw new InvalidOperationException($"remote cluster {Name}: malformed cluster config at {CiliumKeys.ClusterConfigOf(Name)}");
            if (ClusterId == 0 && cfg.Id is >= 1 and <= IdentityRange.MaxClusterId && !_watchesStarted)
            {
                if (IdUsedBy?.Invoke(cfg.Id) is { } other)
                    throw new InvalidOperationException($"remote cluster {Name} advertises cluster ID {cfg.Id}, which cluster {other} has");
                ClusterId = cfg.Id;
            }
            if (cfg.Id != ClusterId)
                throw new InvalidOperationException($"remote cluster {Name} advertises cluster ID {cfg.Id}, configured as {ClusterId}");
            if (cfg.Capabilities.MaxConnectedClusters is not (0 or 255))
                throw new InvalidOperationException($"remote cluster {Name} uses maxConnectedClusters {cfg.Capabilities.MaxConnectedClusters}; only 255 (16-bit identity shift) is supported");
        }
        _watchesStarted = true;
        await Task.WhenAll(Watchers.Select(w => w.WaitSyncedAsync(ct))).ConfigureAwait(false);
    }

    public Dictionary<uint, LabelSet> Identities() { lock (_gate) return new(_ids); }
    public List<RemoteEndpoint> Endpoints() { lock (_gate) return [.. _endpoints.Values]; }
    public int EndpointCount { get { lock (_gate) return _endpoints.Count; } }
    public List<ClusterService> Services() { lock (_gate) return [.. _serviceRecords.Values]; }

    public List<TunnelEndpoint> Nodes()
    {
        lock (_gate)
            return [.. _nodeRecords.Values.Select(n => new TunnelEndpoint(Name, ClusterId, n.Name, [.. n.InternalIps()], [.. n.PodCidrs()], n.Annotations)
                { WireguardPublicKey = n.WireguardPubKey })];
    }

    private void Reject(string key, string why)
    {
        Interlocked.Increment(ref _rejected);
        LastRejection = $"{Name}: {key}: {why}";
    }

    private void OnIdentity(KvChange c)
    {
        if (!uint.TryParse(c.Key.AsSpan(CiliumKeys.IdentityIds.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            Reject(c.Key, "not a numeric identity");
            return;
        }
        if (c.IsDelete) { _ids.Remove(id); return; }
        if (!IdentityRange.Contains(ClusterId, id)) { Reject(c.Key, $"identity {id} is outside cluster {ClusterId}'s range"); _ids.Remove(id); return; }
        if (!LabelKeys.TryParse(c.Value!, out var labels)) { Reject(c.Key, "malformed label key"); _ids.Remove(id); return; }
        _ids[id] = labels;
    }

    private void OnIpCache(KvChange c)
    {
        var name = c.Key[CiliumKeys.IpCache.Length..];
        if (c.IsDelete) { _endpoints.Remove(name); return; }
        var pair = IpIdentityPair.Parse(c.Value!);
        var prefix = pair?.Prefix();
        if (pair == null || prefix == null) { Reject(c.Key, "malformed ipcache entry"); _endpoints.Remove(name); return; }
        // Another cluster's host is a remote node here (Cilium maps identity 1 to 6 for remote clusters).
        uint identity = pair.Id == NumericIdentity.Host ? NumericIdentity.RemoteNode : pair.Id;
        // Reserved identities mean the same everywhere; any other must be in the cluster's range (a CIDR
        // identity is node-local and means nothing here).
        if (!(identity < IdentityRange.Min(0) || IdentityRange.Contains(ClusterId, identity)))
        {
            Reject(c.Key, $"identity {identity} is neither reserved nor in cluster {ClusterId}'s range");
            _endpoints.Remove(name);
            return;
        }
        _endpoints[name] = new RemoteEndpoint(ClusterId, Name, prefix.Value, identity, pair.Host(), pair.K8sNamespace, pair.K8sPodName);
    }

    private void OnNode(KvChange c)
    {
        var name = c.Key[CiliumKeys.NodePrefix(Name).Length..];
        if (c.IsDelete) { _nodeRecords.Remove(name); return; }
        var node = NodeRecord.Parse(c.Value!);
        if (node == null || node.Name != name || (node.Cluster.Length > 0 && node.Cluster != Name))
        {
            Reject(c.Key, "malformed node or one naming another node/cluster");
            _nodeRecords.Remove(name);
            return;
        }
        _nodeRecords[name] = node;
    }

    private void OnService(KvChange c)
    {
        var name = c.Key[CiliumKeys.ServicePrefix(Name).Length..];
        if (c.IsDelete) { _serviceRecords.Remove(name); return; }
        var svc = ClusterService.Parse(c.Value!);
        if (svc == null || svc.Cluster != Name || svc.ClusterId != ClusterId || $"{svc.Namespace}/{svc.Name}" != name)
        {
            Reject(c.Key, "malformed service or one naming another cluster, ID or service");
            _serviceRecords.Remove(name);
            return;
        }
        _serviceRecords[name] = svc;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in Watchers) await w.DisposeAsync().ConfigureAwait(false);
        _etcd.Dispose();
    }
}
