using Etcdserverpb;
using Grpc.Core;

namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// A node's etcd lease, kept alive in the background (every TTL/3). Everything the node owns in etcd is bound
/// to it, so a node that dies disappears when the lease expires. When the lease is lost (etcd unreachable for
/// longer than the TTL, or replaced by an etcd without it) a new one is granted and <see cref="Renewed"/> tells
/// the owners to write their keys again.
/// </summary>
public sealed class LeaseSession : IAsyncDisposable
{
    private readonly EtcdConnection _etcd;
    private readonly BackgroundLoop _loop = new();
    private readonly object _gate = new();
    private TaskCompletionSource<long> _granted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _leaseId;

    public TimeSpan Ttl { get; }
    /// <summary>The current lease (0 while none is granted).</summary>
    public long LeaseId => Interlocked.Read(ref _leaseId);
    /// <summary>A new lease replaced a lost one; its id is passed. Raised on the keep-alive task.</summary>
    public event Action<long>? Renewed;
    /// <summary>How many times a lost lease was replaced.</summary>
    public int Renewals { get; private set; }

    public LeaseSession(EtcdConnection etcd, TimeSpan ttl)
    {
        if (ttl < TimeSpan.FromSeconds(2)) throw new ArgumentOutOfRangeException(nameof(ttl), "etcd's minimum lease TTL is 2 s");
        _etcd = etcd;
        Ttl = ttl;
    }

    public void Start() => _loop.Start(RunAsync);

    /// <summary>The current lease, waiting (bounded by <paramref name="ct"/>) until one is granted.</summary>
    public Task<long> GetAsync(CancellationToken ct)
    {
        Start();
        Task<long> t;
        lock (_gate) t = _granted.Task;
        return t.WaitAsync(ct);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var backoff = new Backoff(_etcd.Options.BackoffMin, _etcd.Options.BackoffMax);
        bool hadLease = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (LeaseId == 0)
                {
                    var grant = await _etcd.RunAsync((c, o) => c.Lease.LeaseGrantAsync(
                        new LeaseGrantRequest { TTL = (long)Ttl.TotalSeconds }, o).ResponseAsync, ct).ConfigureAwait(false);
                    if (grant.Error.Length > 0) throw new KvStoreUnavailableException("lease grant refused: " + grant.Error);
                    Interlocked.Exchange(ref _leaseId, grant.ID);
                    lock (_gate) _granted.TrySetResult(grant.ID);
                    if (hadLease) { Renewals++; Renewed?.Invoke(grant.ID); }
                    hadLease = true;
                }
                await KeepAliveAsync(ct).ConfigureAwait(false);
                backoff.Reset();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e) when (e is KvStoreUnavailableException or RpcException or IOException)
            {
                if (e is not KvStoreUnavailableException) _etcd.Failover();
                try { await backoff.DelayAsync(ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Refreshes the lease every TTL/3 on one stream until the stream fails or the lease is gone.</summary>
    private async Task KeepAliveAsync(CancellationToken ct)
    {
        using var call = _etcd.Clients.Lease.LeaseKeepAlive(EtcdConnection.RequireLeader, cancellationToken: ct);
        var period = Ttl / 3;
        while (!ct.IsCancellationRequested)
        {
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = LeaseId }, ct).ConfigureAwait(false);
            using var answer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            answer.CancelAfter(_etcd.Options.RequestTimeout);
            if (!await call.ResponseStream.MoveNext(answer.Token).ConfigureAwait(false))
                throw new KvStoreUnavailableException("lease keep-alive stream closed");
            if (call.ResponseStream.Current.TTL <= 0)
            {
                // The lease expired or this etcd never knew it: everything bound to it is gone.
                Interlocked.Exchange(ref _leaseId, 0);
                lock (_gate)
                    if (_granted.Task.IsCompleted) _granted = new(TaskCreationOptions.RunContinuationsAsynchronously);
                return;
            }
            await Task.Delay(period, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stops refreshing without revoking: the keys stay until the TTL runs out (what a crashed node does).</summary>
    public Task AbandonAsync() => _loop.StopAsync();

    /// <summary>Revokes the lease: every key bound to it is deleted at once (a clean shutdown).</summary>
    public async Task RevokeAsync(CancellationToken ct)
    {
        await AbandonAsync().ConfigureAwait(false);
        var id = LeaseId;
        if (id != 0)
            await _etcd.RunAsync((c, o) => c.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = id }, o).ResponseAsync, ct)
                .ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await AbandonAsync().ConfigureAwait(false);
}
