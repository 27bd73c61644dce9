using Dataplane.ClusterMesh.Kvstore;
using Etcdserverpb;
using Grpc.Core;

namespace Dataplane.ClusterMesh.Publish;

/// <summary>
/// Keys this node owns in etcd, bound to its lease. <see cref="Set"/>/<see cref="Remove"/> record the desired
/// state at once and a background task writes the differences (up to 128 operations per transaction, etcd's
/// default limit). While etcd is unreachable writes stay queued (<see cref="Pending"/>, <see cref="LastError"/>)
/// and are retried with backoff; when the lease is replaced every owned key is written again.
/// </summary>
public sealed class KeyPublisher : IAsyncDisposable
{
    private const int MaxOpsPerTxn = 128;

    private readonly EtcdConnection _etcd;
    private readonly LeaseSession _lease;
    private readonly Dictionary<string, string> _desired = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly SemaphoreSlim _kick = new(0);
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private int _disposed;

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

    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

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
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _kick.WaitAsync(ct).ConfigureAwait(false);
                while (true)
                {
                    List<(string Key, string? Value)> batch;
                    lock (_gate)
                    {
                        if (_dirty.Count == 0) { _idle.TrySetResult(); break; }
                        batch = [.. _dirty.Take(MaxOpsPerTxn).Select(k => (k, _desired.TryGetValue(k, out var v) ? v : null))];
                    }
                    long lease = await _lease.GetAsync(ct).ConfigureAwait(false);
                    var txn = new TxnRequest();
                    foreach (var (k, v) in batch)
                        txn.Success.Add(v != null ? EtcdConnection.PutOp(k, v, lease) : EtcdConnection.DeleteOp(k));
                    try
                    {
                        await _etcd.TxnAsync(txn, ct).ConfigureAwait(false);
                        LastError = null;
                        backoff.Reset();
                    }
                    catch (Exception e) when (e is KvStoreUnavailableException or RpcException)
                    {
                        // Unreachable, or the lease is gone (the keep-alive task grants a new one): retry later.
                        LastError = e;
                        await backoff.DelayAsync(ct).ConfigureAwait(false);
                        continue;
                    }
                    lock (_gate)
                        foreach (var (k, v) in batch)
                        {
                            // Only clear what is still as written; a newer Set/Remove keeps the key dirty.
                            var now = _desired.TryGetValue(k, out var cur) ? cur : null;
                            if (now == v) _dirty.Remove(k);
                        }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        if (_loop != null)
        {
            try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        _stop.Dispose();
    }
}
