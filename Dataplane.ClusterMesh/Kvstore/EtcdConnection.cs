using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// One etcd v3 cluster reached over gRPC (dotnet-etcd's generated clients on a Grpc.Net channel per endpoint).
/// Unary calls carry a deadline and are turned into <see cref="KvStoreUnavailableException"/> when etcd is
/// down; the next call then tries the next endpoint. Streams (watch, lease keep-alive) are opened by their
/// owners through <see cref="Clients"/>.
/// </summary>
public sealed class EtcdConnection : IDisposable
{
    private readonly string[] _endpoints;
    private readonly GrpcChannel?[] _channels;
    private readonly object _gate = new();
    private int _current;

    public EtcdOptions Options { get; }
    public IReadOnlyList<string> Endpoints => _endpoints;

    /// <param name="endpoints">http://host:port URLs of the cluster's members.</param>
    public EtcdConnection(IEnumerable<string> endpoints, EtcdOptions? options = null)
    {
        _endpoints = [.. endpoints];
        if (_endpoints.Length == 0) throw new ArgumentException("at least one etcd endpoint is required", nameof(endpoints));
        _channels = new GrpcChannel?[_endpoints.Length];
        Options = options ?? new EtcdOptions();
    }

    /// <summary>The generated clients on the current endpoint's channel.</summary>
    public EtcdClients Clients
    {
        get
        {
            lock (_gate)
            {
                var ch = _channels[_current] ??= GrpcChannel.ForAddress(_endpoints[_current], new GrpcChannelOptions
                {
                    HttpHandler = new SocketsHttpHandler
                    {
                        ConnectTimeout = Options.ConnectTimeout,
                        KeepAlivePingDelay = Options.KeepAlivePing,
                        KeepAlivePingTimeout = Options.KeepAliveTimeout,
                        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                        EnableMultipleHttp2Connections = true,
                    },
                    MaxReceiveMessageSize = 64 << 20,
                });
                return new EtcdClients(new KV.KVClient(ch), new Watch.WatchClient(ch), new Lease.LeaseClient(ch),
                    new V3Lockpb.Lock.LockClient(ch));
            }
        }
    }

    /// <summary>After a failure: the next call goes to the next endpoint (if there are several).</summary>
    public void Failover()
    {
        lock (_gate) _current = (_current + 1) % _endpoints.Length;
    }

    public CallOptions Call(CancellationToken ct, TimeSpan? timeout = null) =>
        new(deadline: DateTime.UtcNow + (timeout ?? Options.RequestTimeout), cancellationToken: ct);

    /// <summary>Runs one unary call; transport failures become <see cref="KvStoreUnavailableException"/>.</summary>
    public async Task<T> RunAsync<T>(Func<EtcdClients, CallOptions, Task<T>> call, CancellationToken ct, TimeSpan? timeout = null)
    {
        try
        {
            return await call(Clients, Call(ct, timeout)).ConfigureAwait(false);
        }
        catch (RpcException e) when (IsTransport(e, ct))
        {
            Failover();
            throw new KvStoreUnavailableException($"etcd at {string.Join(",", _endpoints)} unavailable: {e.Status.StatusCode} {e.Status.Detail}", e);
        }
    }

    /// <summary>A failure of the connection rather than a refusal of the request by etcd.</summary>
    public static bool IsTransport(RpcException e, CancellationToken ct) => !ct.IsCancellationRequested &&
        e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal
            or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.Aborted;

    // ---- the operations the mesh needs ----

    /// <summary>Every key under the prefix and the store revision the listing reflects (and etcd's cluster id).</summary>
    public async Task<(List<Mvccpb.KeyValue> Kvs, long Revision, ulong ClusterId)> ListAsync(string prefix, CancellationToken ct)
    {
        var resp = await RunAsync((c, o) => c.Kv.RangeAsync(new RangeRequest
        {
            Key = ByteString.CopyFromUtf8(prefix), RangeEnd = RangeEnd(prefix),
        }, o).ResponseAsync, ct).ConfigureAwait(false);
        return ([.. resp.Kvs], resp.Header.Revision, resp.Header.ClusterId);
    }

    public async Task<Mvccpb.KeyValue?> GetAsync(string key, CancellationToken ct)
    {
        var resp = await RunAsync((c, o) => c.Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, o).ResponseAsync, ct)
            .ConfigureAwait(false);
        return resp.Kvs.Count > 0 ? resp.Kvs[0] : null;
    }

    /// <summary>The first key (in key order) under the prefix, or null.</summary>
    public async Task<Mvccpb.KeyValue?> FirstAsync(string prefix, CancellationToken ct)
    {
        var resp = await RunAsync((c, o) => c.Kv.RangeAsync(new RangeRequest
        {
            Key = ByteString.CopyFromUtf8(prefix), RangeEnd = RangeEnd(prefix), Limit = 1,
        }, o).ResponseAsync, ct).ConfigureAwait(false);
        return resp.Kvs.Count > 0 ? resp.Kvs[0] : null;
    }

    public Task<PutResponse> PutAsync(string key, string value, long lease, CancellationToken ct) =>
        RunAsync((c, o) => c.Kv.PutAsync(Put(key, value, lease), o).ResponseAsync, ct);

    public Task<DeleteRangeResponse> DeleteAsync(string key, CancellationToken ct) =>
        RunAsync((c, o) => c.Kv.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) }, o).ResponseAsync, ct);

    public Task<DeleteRangeResponse> DeletePrefixAsync(string prefix, CancellationToken ct) =>
        RunAsync((c, o) => c.Kv.DeleteRangeAsync(new DeleteRangeRequest
        {
            Key = ByteString.CopyFromUtf8(prefix), RangeEnd = RangeEnd(prefix),
        }, o).ResponseAsync, ct);

    public Task<TxnResponse> TxnAsync(TxnRequest txn, CancellationToken ct) =>
        RunAsync((c, o) => c.Kv.TxnAsync(txn, o).ResponseAsync, ct);

    public Task<CompactionResponse> CompactAsync(long revision, CancellationToken ct) =>
        RunAsync((c, o) => c.Kv.CompactAsync(new CompactionRequest { Revision = revision, Physical = true }, o).ResponseAsync, ct);

    public static RequestOp PutOp(string key, string value, long lease) => new() { RequestPut = Put(key, value, lease) };

    public static RequestOp DeleteOp(string key) =>
        new() { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) } };

    private static PutRequest Put(string key, string value, long lease) => new()
    {
        Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(value), Lease = lease,
    };

    /// <summary>etcd's prefix range end: the prefix with its last byte incremented.</summary>
    public static ByteString RangeEnd(string prefix)
    {
        var b = System.Text.Encoding.UTF8.GetBytes(prefix);
        for (int i = b.Length - 1; i >= 0; i--)
        {
            if (b[i] < 0xFF) { b[i]++; return ByteString.CopyFrom(b, 0, i + 1); }
        }
        return ByteString.CopyFrom(0);   // whole keyspace
    }

    public void Dispose()
    {
        lock (_gate)
            foreach (var ch in _channels) ch?.Dispose();
    }
}

/// <summary>dotnet-etcd's generated gRPC clients on one channel.</summary>
public sealed record EtcdClients(KV.KVClient Kv, Watch.WatchClient Watch, Lease.LeaseClient Lease, V3Lockpb.Lock.LockClient Lock);
