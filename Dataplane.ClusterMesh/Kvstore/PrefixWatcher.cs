using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// A local copy of every key under a prefix, kept in step with etcd: list (with its revision), then watch
/// from revision + 1. When the connection breaks the copy is kept as it was — consumers go on with the last
/// known state — and the watcher reconnects with backoff. It then resumes the watch from the last revision
/// it applied, so whatever changed meanwhile (deletes included) arrives as events; if etcd can no longer
/// replay that history (compacted, or a different etcd/data dir answers: its cluster id changed or its
/// revision went back) it lists again and diffs the listing against the copy, so no stale key survives and
/// no new one is missed. <see cref="Changed"/> reports exactly the differences, in order, on the watcher's task.
/// </summary>
public sealed class PrefixWatcher : IAsyncDisposable
{
    private readonly EtcdConnection _etcd;
    private readonly Dictionary<string, string> _cache = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly BackgroundLoop _loop = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _revision;
    private ulong _clusterId;
    private volatile bool _connected;

    public string Prefix { get; }
    /// <summary>Receives each batch of differences (never empty). Must not block for long.</summary>
    public event Action<IReadOnlyList<KvChange>>? Changed;
    /// <summary>Connected and caught up (the first listing done and a watch open).</summary>
    public bool Connected => _connected;
    public long Revision => Interlocked.Read(ref _revision);
    /// <summary>Full listings after the first (history gone or a different etcd answered).</summary>
    public int Resyncs { get; private set; }
    /// <summary>Watches re-opened from the last applied revision after a break.</summary>
    public int Resumes { get; private set; }
    public Exception? LastError { get; private set; }
    /// <summary>Exceptions thrown by <see cref="Changed"/> handlers (the watch goes on).</summary>
    public int HandlerErrors { get; private set; }
    public Exception? LastHandlerError { get; private set; }

    public PrefixWatcher(EtcdConnection etcd, string prefix)
    {
        _etcd = etcd;
        Prefix = prefix;
    }

    public void Start() => _loop.Start(RunAsync);

    /// <summary>Completes once the first listing is applied.</summary>
    public Task WaitSyncedAsync(CancellationToken ct) { Start(); return _synced.Task.WaitAsync(ct); }

    /// <summary>A copy of the current cache.</summary>
    public Dictionary<string, string> Snapshot()
    {
        lock (_gate) return new Dictionary<string, string>(_cache, StringComparer.Ordinal);
    }

    public int Count { get { lock (_gate) return _cache.Count; } }

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = new Backoff(_etcd.Options.BackoffMin, _etcd.Options.BackoffMax);
        bool listed = false, relist = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!listed)
                {
                    await ListAsync(ct).ConfigureAwait(false);
                    if (relist) Resyncs++;   // counted once the listing is applied
                    listed = true;
                    relist = false;
                }
                else
                {
                    Resumes++;
                }
                // Returns false when the history needed to resume is gone: list again.
                if (!await WatchAsync(backoff, ct).ConfigureAwait(false))
                {
                    _connected = false;
                    listed = false;
                    relist = true;
                    continue;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
            catch (Exception e) when (e is KvStoreUnavailableException or RpcException or IOException or InvalidOperationException)
            {
                // Said as an operator reads it (a refused certificate, an expired one, auth refused), not just "Unavailable".
                LastError = _etcd.Unavailable(e);
                // A broken stream says nothing about the other members: try the next endpoint (unary failures rotate already).
                if (e is not KvStoreUnavailableException) _etcd.Failover();
            }
            _connected = false;
            try { await backoff.DelayAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
        _connected = false;
    }

    private async Task ListAsync(CancellationToken ct)
    {
        var (kvs, revision, clusterId) = await _etcd.ListAsync(Prefix, ct).ConfigureAwait(false);
        var changes = new List<KvChange>();
        lock (_gate)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var kv in kvs)
            {
                var key = kv.Key.ToStringUtf8();
                var value = kv.Value.ToStringUtf8();
                seen.Add(key);
                if (!_cache.TryGetValue(key, out var old) || old != value)
                {
                    _cache[key] = value;
                    changes.Add(new KvChange(key, value));
                }
            }
            foreach (var key in _cache.Keys.Where(k => !seen.Contains(k)).ToList())
            {
                _cache.Remove(key);
                changes.Add(new KvChange(key, null));
            }
            Interlocked.Exchange(ref _revision, revision);
            _clusterId = clusterId;
        }
        if (changes.Count > 0) Notify(changes);
        _synced.TrySetResult();
    }

    /// <summary>Watches from the last applied revision + 1 until the stream breaks (throws) or history is gone (false).</summary>
    private async Task<bool> WatchAsync(Backoff backoff, CancellationToken ct)
    {
        using var call = _etcd.Clients.Watch.Watch(EtcdConnection.RequireLeader, cancellationToken: ct);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = ByteString.CopyFromUtf8(Prefix), RangeEnd = EtcdConnection.RangeEnd(Prefix), StartRevision = Revision + 1,
            },
        }, ct).ConfigureAwait(false);
        bool created = false;
        while (await call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
        {
            var resp = call.ResponseStream.Current;
            if (resp.CompactRevision > 0 || resp.Canceled)
                return false;   // the revisions we need were compacted away
            if (!created)
            {
                if (!resp.Created) continue;
                created = true;
                // Another etcd (new data dir) or one rolled back: its revisions do not continue ours.
                if ((_clusterId != 0 && resp.Header.ClusterId != _clusterId) || resp.Header.Revision < Revision)
                    return false;
                _connected = true;
                LastError = null;
                backoff.Reset();
            }
            if (resp.Events.Count == 0) continue;
            var changes = new List<KvChange>(resp.Events.Count);
            lock (_gate)
            {
                foreach (var ev in resp.Events)
                {
                    var key = ev.Kv.Key.ToStringUtf8();
                    if (ev.Type == Mvccpb.Event.Types.EventType.Delete)
                    {
                        if (_cache.Remove(key)) changes.Add(new KvChange(key, null));
                    }
                    else
                    {
                        var value = ev.Kv.Value.ToStringUtf8();
                        if (!_cache.TryGetValue(key, out var old) || old != value)
                        {
                            _cache[key] = value;
                            changes.Add(new KvChange(key, value));
                        }
                    }
                    if (ev.Kv.ModRevision > Revision) Interlocked.Exchange(ref _revision, ev.Kv.ModRevision);
                }
            }
            if (changes.Count > 0) Notify(changes);
        }
        throw new KvStoreUnavailableException("watch stream closed by etcd");
    }

    /// <summary>A consumer's failure must not stop the watch: it is counted and kept in <see cref="LastHandlerError"/>.</summary>
    private void Notify(List<KvChange> changes)
    {
        try { Changed?.Invoke(changes); }
        catch (Exception e)
        {
            HandlerErrors++;
            LastHandlerError = e;
        }
    }

    public async ValueTask DisposeAsync() => await _loop.StopAsync().ConfigureAwait(false);
}
