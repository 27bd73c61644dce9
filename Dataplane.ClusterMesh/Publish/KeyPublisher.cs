using Dataplane.ClusterMesh.Kvstore;
using Etcdserverpb;
using Grpc.Core;

namespace Dataplane.ClusterMesh.Publish;

/// <summary>
/// Keys this node owns in etcd, bound to its lease. <see cref="Set"/>/<see cref="Remove"/> record the desired
/// state at once and a background task writes the differences (up to 128 operations per transaction, etcd's
/// default limit; up to 4 transactions in flight). While etcd is unreachable writes stay queued (<see cref="Pending"/>, <see cref="LastError"/>)
/// and are retried with backoff; when the lease is replaced every owned key is written again.
/// </summary>
public sealed class KeyPublisher : IAsyncDisposable
{
    private const int MaxOpsPerTxn = 128, MaxInFlight = 4;

    private readonly EtcdConnection _etcd;
    private readonly LeaseSession _lease;
    private readonly Dictionary<string, string> _desired = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly SemaphoreSlim _kick = new(0);
    private readonly BackgroundLoop _loop = new();
    private TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public KeyPublisher(EtcdConnection etcd, LeaseSession lease)
    {
        _etcd = etcd;
        _lease = lease;
        _idle.SetResult();
        _lease.Renewed += _ =>
        {
            lock (_gate) foreach (var k in _desired.Keys) MarkDirty(k);
            _kick.Release();
        };
    }

    /// <summary>Writes not yet acknowledged by etcd.</summary>
    public int Pending { get { lock (_gate) return _dirty.Count; } }
    /// <summary>Why the last write attempt failed (null after a success).</summary>
    public Exception? LastError { get; private set; }
    public int Count { get { lock (_gate) return _desired.Count; } }

    public void Start() => _loop.Start(RunAsync);

    public void Set(string key, string value)
    {
        lock (_gate)
        {
            if (_desired.TryGetValue(key, out var old) && old == value) return;
            _desired[key] = value;
            MarkDirty(key);
        }
        Start();
        _kick.Release();
    }

    public void Remove(string key)
    {
        lock (_gate)
        {
            if (!_desired.Remove(key)) return;
            MarkDirty(key);
        }
        Start();
        _kick.Release();
    }

    private void MarkDirty(string key)
    {
        if (_dirty.Add(key) && _idle.Task.IsCompleted) _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Completes when every recorded change is in etcd.</summary>
    public Task FlushAsync(CancellationToken ct)
    {
        lock (_gate) return _idle.Task.WaitAsync(ct);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = new Backoff(_etcd.Options.BackoffMin, _etcd.Options.BackoffMax);
        var running = new List<Task<bool>>();
        Task? kicked = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // Keep up to MaxInFlight transactions going: etcd commits concurrent requests together, so
                // pipelining hides most of its per-commit fsync.
                while (running.Count < MaxInFlight)
                {
                    List<(string Key, string? Value)> batch;
                    lock (_gate)
                    {
                        batch = [.. _dirty.Where(k => !_inFlight.Contains(k)).Take(MaxOpsPerTxn)
                            .Select(k => (k, _desired.TryGetValue(k, out var v) ? v : null))];
                        foreach (var (k, _) in batch) _inFlight.Add(k);
                        if (_dirty.Count == 0) _idle.TrySetResult();
                    }
                    if (batch.Count == 0) break;
                    running.Add(WriteAsync(batch, ct));
                }
                kicked ??= _kick.WaitAsync(ct);
                var done = await Task.WhenAny([.. running, kicked]).ConfigureAwait(false);
                if (done == kicked) { kicked = null; continue; }
                var t = (Task<bool>)done;
                running.Remove(t);
                if (await t.ConfigureAwait(false)) backoff.Reset();
                else await backoff.DelayAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
        }
        try { await Task.WhenAll(running).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }

    /// <summary>One transaction; false (keys stay dirty) when etcd is unreachable or the lease is gone.</summary>
    private async Task<bool> WriteAsync(List<(string Key, string? Value)> batch, CancellationToken ct)
    {
        bool ok = false;
        try
        {
            long lease = await _lease.GetAsync(ct).ConfigureAwait(false);
            var txn = new TxnRequest();
            foreach (var (k, v) in batch)
                txn.Success.Add(v != null ? EtcdConnection.PutOp(k, v, lease) : EtcdConnection.DeleteOp(k));
            await _etcd.TxnAsync(txn, ct).ConfigureAwait(false);
            LastError = null;
            ok = true;
        }
        catch (Exception e) when (e is KvStoreUnavailableException or RpcException)
        {
            // Unreachable, or the lease is gone (the keep-alive task grants a new one): retried later.
            LastError = e;
        }
        finally
        {
            lock (_gate)
                foreach (var (k, v) in batch)
                {
                    _inFlight.Remove(k);
                    // Only what is still as written is done; a newer Set/Remove keeps the key dirty.
                    if (ok && (_desired.TryGetValue(k, out var cur) ? cur : null) == v) _dirty.Remove(k);
                }
            if (!ok || Pending > 0) _kick.Release();
        }
        return ok;
    }

    public async ValueTask DisposeAsync() => await _loop.StopAsync().ConfigureAwait(false);
}
