using System.Net;
using Dataplane.ClusterMesh;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Publish;
using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Identity;
using Dataplane.Core.Policy;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Api;

namespace Dataplane.Host.Mesh;

/// <summary>
/// The node agent's side of Cluster Mesh (`run --clustermesh FILE`). One background loop, woken by a config
/// swap or a remote change (and once a second to retry what failed), does all etcd I/O: joins this cluster's
/// etcd, starts every remote cluster's watch, publishes the node, its pods' identities and ipcache entries
/// (<see cref="ModelSync"/>) and its global services, then captures a whole <see cref="MeshState"/> and asks
/// the agent to recompile. Compilation (<see cref="Compile"/>) runs under the agent's apply lock and never
/// waits for etcd, so forwarding never does either; when etcd is unreachable the captured state — the
/// watchers' caches — stays in force, and the watchers' resync after the outage arrives as ordinary changes.
/// </summary>
public sealed class MeshLink : IAsyncDisposable
{
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(1), Debounce = TimeSpan.FromMilliseconds(100),
        CallTimeout = TimeSpan.FromSeconds(15);

    private readonly ClusterMeshAgent _agent;
    private readonly ModelSync _sync;
    private readonly Action _recompile;
    private readonly TextWriter _log;
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task?[] _remoteStarts;
    private readonly HashSet<(string Ns, string Name)> _exported = [];
    private Task? _loop;
    private ConfigModel? _wanted, _synced;
    private IReadOnlyDictionary<string, SecurityIdentity> _pinned = new Dictionary<string, SecurityIdentity>();
    private volatile bool _remoteChanged;
    private volatile bool _joined;
    private long _version;
    private MeshState _current = MeshState.Empty, _good = MeshState.Empty;
    private readonly Lock _errorGate = new();
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;

    public ClusterMeshConfig Config { get; }
    /// <summary>The latest captured state (what the next compilation tries).</summary>
    public MeshState Current => Volatile.Read(ref _current);
    /// <summary>The latest state that compiled (what forwarding uses).</summary>
    public MeshState Good => Volatile.Read(ref _good);

    /// <param name="recompile">Recompiles the agent's snapshot with <see cref="Current"/> (takes the apply lock).</param>
    public MeshLink(ClusterMeshConfig config, string nodeName, IPAddress nodeIp, Action recompile, TextWriter log, EtcdOptions? options = null)
    {
        Config = config;
        _recompile = recompile;
        _log = log;
        _agent = new ClusterMeshAgent(config, nodeName, nodeIp, options);
        _sync = new ModelSync(_agent.Local);
        _remoteStarts = new Task?[_agent.View.Remotes.Count];
        _agent.View.Changed += () =>
        {
            _remoteChanged = true;
            _wake.Release();
        };
    }

    public void Start() => _loop = Task.Run(() => LoopAsync(_stop.Token));

    /// <summary>The agent applied a new model from its files or registrations: publish it.</summary>
    public void ModelChanged(ConfigModel merged)
    {
        Volatile.Write(ref _wanted, merged);
        _wake.Release();
    }

    /// <summary>
    /// Compiles <paramref name="merged"/> with the current mesh state; if that state does not compile (a remote
    /// node nobody can reach, say), it is reported and set aside, and the last good one is used. A failure with
    /// the good state too is the local config's, and propagates like any config error.
    /// </summary>
    public DatapathSnapshot Compile(ConfigModel merged, long generation, DatapathSnapshot previous)
    {
        var state = Current;
        try
        {
            var snapshot = CompileWith(merged, state, generation, previous);
            Volatile.Write(ref _good, state);
            return snapshot;
        }
        catch (ConfigException e) when (!ReferenceEquals(state, Good))
        {
            var good = Good;
            // Throws if the local config is at fault after all: then it is reported as a config error, not here.
            var snapshot = CompileWith(merged, good, generation, previous);
            Error($"remote state {state.Version} not applied, keeping {good.Version}: {e.Message}");
            return snapshot;
        }
    }

    private DatapathSnapshot CompileWith(ConfigModel merged, MeshState state, long generation, DatapathSnapshot previous) =>
        SnapshotCompiler.Compile(MeshModel.Augment(merged, state, Config.Cluster, Config.ClusterId, Config.OverlappingPodCidrs),
            generation, previous, state.External);

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(Retry, ct).ConfigureAwait(false);
                // Let a burst of watcher batches settle into one recompilation.
                await Task.Delay(Debounce, ct).ConfigureAwait(false);
                while (_wake.CurrentCount > 0) await _wake.WaitAsync(0, ct).ConfigureAwait(false);
                await StepAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                // Control plane: report and retry on the next round; forwarding goes on with what it has.
                Error(e is KvStoreUnavailableException or OperationCanceledException ? $"etcd: {e.Message}" : e.ToString());
            }
        }
    }

    private async Task StepAsync(CancellationToken ct)
    {
        if (!_joined)
        {
            using var t = Timeout(ct);
            await _agent.Local.StartAsync(t.Token).ConfigureAwait(false);
            _joined = true;
            Log($"joined cluster {Config.Cluster} (id {Config.ClusterId}) at {string.Join(", ", Config.Endpoints)}");
        }
        StartRemotes(ct);

        bool changed = false;
        var wanted = Volatile.Read(ref _wanted);
        if (wanted != null && !ReferenceEquals(wanted, _synced))
        {
            using var t = Timeout(ct);
            var ids = await _sync.SyncAsync(wanted, t.Token).ConfigureAwait(false);
            Export(wanted);
            _synced = wanted;
            var podLabels = PolicyCompiler.PodLabels(wanted);
            var pinned = new Dictionary<string, SecurityIdentity>(StringComparer.Ordinal);
            foreach (var (pod, id) in ids)
                pinned[podLabels[pod].Key] = new SecurityIdentity(id, LabelKeys.InCluster(podLabels[pod], Config.Cluster));
            var workloadLabels = ExternalWorkloadIdentity.Labels(wanted);
            foreach (var (w, id) in _sync.WorkloadIds)
                if (workloadLabels.TryGetValue(w, out var labels))
                    pinned[labels.Key] = new SecurityIdentity(id, LabelKeys.InCluster(labels, Config.Cluster));
            if (!SameIds(pinned, _pinned))
            {
                _pinned = pinned;
                changed = true;
            }
        }
        if (_remoteChanged)
        {
            _remoteChanged = false;
            changed = true;
        }
        if (!changed) return;
        var state = MeshState.Capture(++_version, _agent.View, _pinned, Config.OverlappingPodCidrs);
        Volatile.Write(ref _current, state);
        _recompile();
    }

    /// <summary>Starts (or, after a failure, restarts) each remote cluster's watch without waiting for it.</summary>
    private void StartRemotes(CancellationToken ct)
    {
        var remotes = _agent.View.Remotes;
        for (int i = 0; i < remotes.Count; i++)
        {
            var task = _remoteStarts[i];
            if (task is { IsFaulted: false, IsCanceled: false }) continue;
            var r = remotes[i];
            if (task is { IsFaulted: true }) Error($"remote cluster {r.Name}: {task.Exception!.GetBaseException().Message}");
            _remoteStarts[i] = Task.Run(async () =>
            {
                await r.StartAsync(ct).ConfigureAwait(false);
                Log($"remote cluster {r.Name} (id {r.ClusterId}) synced: {r.Nodes().Count} node(s), {r.EndpointCount} endpoint(s)");
            }, ct);
        }
    }

    /// <summary>Publishes this cluster's global services and withdraws those no longer global or present.</summary>
    private void Export(ConfigModel model)
    {
        var now = new HashSet<(string, string)>();
        foreach (var svc in MeshServices.Exported(model, Config.Cluster, Config.ClusterId))
        {
            _agent.Local.PublishService(svc);
            now.Add((svc.Namespace, svc.Name));
        }
        foreach (var (ns, name) in _exported.Where(k => !now.Contains(k)).ToList()) _agent.Local.RemoveService(ns, name);
        _exported.Clear();
        _exported.UnionWith(now);
    }

    private static bool SameIds(IReadOnlyDictionary<string, SecurityIdentity> a, IReadOnlyDictionary<string, SecurityIdentity> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var o) && o.Id == kv.Value.Id && o.Labels.Key == kv.Value.Labels.Key);

    private CancellationTokenSource Timeout(CancellationToken ct)
    {
        var t = CancellationTokenSource.CreateLinkedTokenSource(ct);
        t.CancelAfter(CallTimeout);
        return t;
    }

    private void Error(string message)
    {
        lock (_errorGate)
        {
            // The same failure every retry is logged once.
            if (message != _lastError) Log($"error: {message}");
            _lastError = message;
            _lastErrorAt = DateTimeOffset.UtcNow;
        }
    }

    private void Log(string message)
    {
        lock (_log)
        {
            _log.WriteLine($"clustermesh: {message}");
            _log.Flush();
        }
    }

    public ClusterMeshStatus Status()
    {
        var good = Good;
        var remotes = _agent.View.Remotes.Select(r => new RemoteClusterStatus(r.Name, r.ClusterId, r.Connected, r.Nodes().Count,
            r.EndpointCount, r.Identities().Count, r.Services().Count, r.Rejected,
            r.Watchers.Select(w => w.LastError?.Message).FirstOrDefault(m => m != null) ?? r.LastRejection)).ToList();
        var local = _agent.Local;
        string? error;
        DateTimeOffset? at;
        lock (_errorGate) (error, at) = (_lastError, _lastErrorAt);
        return new ClusterMeshStatus(Config.Cluster, Config.ClusterId, _joined && local.Identities.Connected && local.Publisher.LastError is null,
            local.Publisher.Count, local.Publisher.Pending, _pinned.Count, good.Version, good.Nodes.Count, good.External.IpCache.Count,
            remotes, error, at);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            try { await loop.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        // Revoking nothing: a stopped agent's keys expire with its lease, as when Cilium's agent stops.
        await _agent.DisposeAsync().ConfigureAwait(false);
        // _wake stays undisposed: an API registration racing shutdown may still signal it (it holds no handle).
        _stop.Dispose();
    }
}
