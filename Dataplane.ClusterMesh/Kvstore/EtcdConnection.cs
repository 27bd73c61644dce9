using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// One etcd v3 cluster reached over gRPC (dotnet-etcd's generated clients on a Grpc.Net channel per endpoint),
/// in plaintext or over TLS (the configuration's CA, client certificate and server name, verified by
/// <see cref="TlsMaterial"/>), with etcd user auth when the configuration has a user. Unary calls carry a deadline
/// and are turned into <see cref="KvStoreUnavailableException"/> when etcd is down or refuses this client; the next
/// call then tries the next endpoint. Streams (watch, lease keep-alive) are opened by their owners through
/// <see cref="Clients"/>. When the configuration came from files, they are checked for changes every
/// <see cref="EtcdOptions.FileCheckPeriod"/>: a changed configuration or certificate is loaded and every channel is
/// reopened with it (open streams break and their owners reconnect); one that does not load is reported in
/// <see cref="ConfigProblem"/> and the previous one stays in use.
/// </summary>
public sealed class EtcdConnection : IDisposable
{
    private readonly object _gate = new();
    private readonly Timer? _fileCheck;
    private EtcdClientConfig _config;
    private TlsMaterial? _tls;
    private EtcdAuth? _auth;
    private GrpcChannel?[] _channels;
    private Dictionary<string, (DateTime, long)> _stamps;
    private int _current;
    private bool _disposed;

    public EtcdOptions Options { get; }
    public IReadOnlyList<string> Endpoints { get { lock (_gate) return _config.Endpoints; } }
    public EtcdClientConfig Config { get { lock (_gate) return _config; } }
    /// <summary>Why a changed configuration or certificate file was not loaded (null once one loads).</summary>
    public string? ConfigProblem { get; private set; }
    /// <summary>How many times changed files were loaded and the channels reopened.</summary>
    public int Reloads { get; private set; }

    /// <param name="endpoints">http://host:port URLs of the cluster's members.</param>
    public EtcdConnection(IEnumerable<string> endpoints, EtcdOptions? options = null) : this(new EtcdClientConfig([.. endpoints]), options) { }

    public EtcdConnection(EtcdClientConfig config, EtcdOptions? options = null)
    {
        if (config.Endpoints.Count == 0) throw new ArgumentException("at least one etcd endpoint is required", nameof(config));
        Options = options ?? new EtcdOptions();
        _config = config;
        _tls = config.UsesTls ? TlsMaterial.Load(config) : null;
        _auth = Auth(config);
        _channels = new GrpcChannel?[config.Endpoints.Count];
        _stamps = Stamps(config);
        if (_stamps.Count > 0) _fileCheck = new Timer(_ => CheckFiles(), null, Options.FileCheckPeriod, Options.FileCheckPeriod);
    }

    /// <summary>A connection configured by a Cilium etcd config file (see <see cref="Config.EtcdConfigFile"/>), re-read when it changes.</summary>
    public static EtcdConnection FromFile(string path, EtcdOptions? options = null) => new(Dataplane.ClusterMesh.Config.EtcdConfigFile.Load(path), options);

    /// <summary>The generated clients on the current endpoint's channel.</summary>
    public EtcdClients Clients
    {
        get
        {
            lock (_gate) return ClientsAt(_current);
        }
    }

    /// <summary>The generated clients on member <paramref name="member"/>'s channel (opened on first use).</summary>
    private EtcdClients ClientsAt(int member)
    {
        lock (_gate)
        {
            var ch = _channels[member] ??= Open(_config.Endpoints[member]);
            return new EtcdClients(new KV.KVClient(ch), new Watch.WatchClient(ch), new Lease.LeaseClient(ch),
                new V3Lockpb.Lock.LockClient(ch));
        }
    }

    private GrpcChannel Open(string endpoint)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = Options.ConnectTimeout,
            KeepAlivePingDelay = Options.KeepAlivePing,
            KeepAlivePingTimeout = Options.KeepAliveTimeout,
            // Only while a stream is open: etcd does not permit pings without one (they count as abuse).
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
        };
        if (_tls != null) handler.SslOptions = _tls.ClientOptions(new Uri(endpoint).IdnHost);
        var options = new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true, MaxReceiveMessageSize = 64 << 20 };
        if (_auth != null)
        {
            options.Credentials = ChannelCredentials.Create(_tls != null ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, _auth.Credentials);
            // etcd's own clients send the token over plaintext too when the cluster is plaintext.
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }
        return GrpcChannel.ForAddress(endpoint, options);
    }

    private EtcdAuth? Auth(EtcdClientConfig config) => config.UsesAuth
        ? new EtcdAuth(config.Username!, config.Password ?? "", () => new Etcdserverpb.Auth.AuthClient(CurrentChannel()), Options.RequestTimeout)
        : null;

    private GrpcChannel CurrentChannel()
    {
        lock (_gate) return _channels[_current] ??= Open(_config.Endpoints[_current]);
    }

    private static Dictionary<string, (DateTime, long)> Stamps(EtcdClientConfig config)
    {
        var d = new Dictionary<string, (DateTime, long)>(StringComparer.Ordinal);
        foreach (var f in config.Files())
        {
            var info = new FileInfo(f);   // follows symlinks: a mounted Secret swaps its ..data link
            d[f] = info.Exists ? (info.LastWriteTimeUtc, info.Length) : default;
        }
        return d;
    }

    /// <summary>Reloads the configuration and certificates if any of their files changed.</summary>
    public bool CheckFiles()
    {
        EtcdClientConfig config;
        lock (_gate)
        {
            if (_disposed) return false;
            config = _config;
        }
        var stamps = Stamps(config);
        if (stamps.Count == _stamps.Count && stamps.All(kv => _stamps.TryGetValue(kv.Key, out var old) && old == kv.Value)) return false;
        _stamps = stamps;
        TlsMaterial? tls;
        try
        {
            if (config.SourceFile != null) config = Dataplane.ClusterMesh.Config.EtcdConfigFile.Load(config.SourceFile);
            tls = config.UsesTls ? TlsMaterial.Load(config) : null;
        }
        catch (Exception e) when (e is Dataplane.Control.Config.ConfigException or InvalidDataException)
        {
            ConfigProblem = $"changed etcd configuration not loaded, keeping the previous one: {e.Message}";
            return false;
        }
        GrpcChannel?[] old;
        lock (_gate)
        {
            if (_disposed) { tls?.Dispose(); return false; }
            _config = config;
            _tls = tls;   // the previous material is left to the GC: a handshake in flight may still use it
            _auth = Auth(config);
            old = _channels;
            _channels = new GrpcChannel?[config.Endpoints.Count];
            _current = 0;
            _stamps = Stamps(config);
            ConfigProblem = null;
            Reloads++;
        }
        foreach (var ch in old) ch?.Dispose();
        return true;
    }

    /// <summary>
    /// Metadata for streams (watch, lease keep-alive): a member that loses its leader (a partitioned minority of a
    /// replicated etcd) ends them with "no leader" instead of keeping them open and silent, so the owner moves to a
    /// member of the majority — what etcd's clientv3.WithRequireLeader does, and Cilium's watches use.
    /// </summary>
    public static Metadata RequireLeader { get; } = new() { { "hasleader", "true" } };

    /// <summary>After a failure: the next call goes to the next endpoint (if there are several).</summary>
    public void Failover()
    {
        lock (_gate) _current = (_current + 1) % _channels.Length;
    }

    public CallOptions Call(CancellationToken ct, TimeSpan? timeout = null) =>
        new(deadline: DateTime.UtcNow + (timeout ?? Options.RequestTimeout), cancellationToken: ct);

    /// <summary>
    /// Runs one unary call; transport and auth failures become <see cref="KvStoreUnavailableException"/>. A member
    /// that is down or has no leader (<c>Unavailable</c>: the request was not carried out) is skipped and the next
    /// one tried, once each, so a replicated etcd that still has a majority serves the call; a timeout is not retried
    /// (the request may have been applied).
    /// </summary>
    /// <remarks>
    /// The members are walked from the current one by this call's own counter, not through the shared current
    /// index: the lease keep-alive and the watchers fail over on their own when a member dies, and a call that
    /// followed the shared index could be rotated back onto the dead member by them and give up with a majority
    /// still up. The member that answered becomes the current one.
    /// </remarks>
    public async Task<T> RunAsync<T>(Func<EtcdClients, CallOptions, Task<T>> call, CancellationToken ct, TimeSpan? timeout = null)
    {
        int members = Endpoints.Count;
        int first;
        lock (_gate) first = _current;
        for (int attempt = 0; ; attempt++)
        {
            int member = (first + attempt) % members;
            try
            {
                var result = await call(ClientsAt(member), Call(ct, timeout)).ConfigureAwait(false);
                if (attempt > 0) lock (_gate) _current = member;
                return result;
            }
            catch (RpcException e) when (IsTransport(e, ct) || IsRefusal(e))
            {
                if (attempt + 1 < members && e.StatusCode == StatusCode.Unavailable) continue;
                // The next call starts at the next member, unless another failure already moved on.
                lock (_gate) if (_current == member) _current = (member + 1) % members;
                throw Unavailable(e);
            }
        }
    }

    /// <summary>A failure of the connection rather than a refusal of the request by etcd.</summary>
    public static bool IsTransport(RpcException e, CancellationToken ct) => !ct.IsCancellationRequested &&
        e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal
            or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.Aborted;

    /// <summary>etcd refused this client (bad or expired token, wrong user, no permission): retried like an outage.</summary>
    private static bool IsRefusal(RpcException e) =>
        e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied;

    /// <summary>
    /// etcd ended the TLS session during or right after the handshake (TLS 1.3 reports a refused client certificate
    /// only then): an alert, or HTTP/2 never started on a connection whose server certificate we accepted.
    /// </summary>
    // With TLS 1.3 the client's handshake completes before the server has judged the client's certificate; the
    // server's refusal then arrives as an alert, as a session closed before HTTP/2's settings, or — when our
    // connection preface was already on its way — as a reset while the call was starting (seen in CI).
    private static bool ClosedByServer(Exception e) =>
        e.ToString() is var text && (text.Contains("alert bad certificate", StringComparison.Ordinal)
            || text.Contains("alert certificate required", StringComparison.Ordinal)
            || text.Contains("did not complete the HTTP/2 handshake", StringComparison.Ordinal)
            || (text.Contains("Error starting gRPC call", StringComparison.Ordinal)
                && text.Contains("Connection reset by peer", StringComparison.Ordinal)));

    /// <summary>
    /// The failure as an operator should read it: the gRPC status, the innermost transport error and what this
    /// connection knows about it — a server certificate refused and why, this client's certificate expired, auth
    /// refused, a changed file not loaded.
    /// </summary>
    public KvStoreUnavailableException Unavailable(Exception e)
    {
        if (e is KvStoreUnavailableException k) return k;
        if (e is RpcException { StatusCode: StatusCode.Unauthenticated }) _auth?.Invalidate();
        var parts = new List<string>();
        if (e is RpcException r)
        {
            parts.Add(r.Status.Detail is { Length: > 0 } d ? $"{r.StatusCode}: {d}" : r.StatusCode.ToString());
            var inner = r.Status.DebugException;
            while (inner?.InnerException != null) inner = inner.InnerException;
            if (inner != null && !parts[0].Contains(inner.Message, StringComparison.Ordinal)) parts.Add(inner.Message);
        }
        else parts.Add(e.Message);
        TlsMaterial? tls;
        EtcdAuth? auth;
        lock (_gate) (tls, auth) = (_tls, _auth);
        if (tls?.ServerProblem is { } sp) parts.Add(sp);
        if (tls?.ClientProblem() is { } cp) parts.Add(cp);
        else if (tls != null && tls.ServerProblem == null && ClosedByServer(e)) parts.Add(tls.RefusedByServer());
        if (auth?.Problem is { } ap) parts.Add(ap);
        if (ConfigProblem is { } c) parts.Add(c);
        if (Endpoints.Count > 1 && e.ToString().Contains("deadline exceeded", StringComparison.OrdinalIgnoreCase))
            parts.Add("no member answered in time: a replicated etcd that lost its majority answers nothing until quorum returns");
        var said = new List<string>();
        foreach (var p in parts)
            if (!said.Any(x => x.Contains(p, StringComparison.Ordinal))) said.Add(p);
        var text = string.Join("; ", said).ReplaceLineEndings(" ");
        return new KvStoreUnavailableException($"etcd at {string.Join(",", Endpoints)} unavailable: {text}", e);
    }

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
        _fileCheck?.Dispose();
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var ch in _channels) ch?.Dispose();
        }
    }
}

/// <summary>dotnet-etcd's generated gRPC clients on one channel.</summary>
public sealed record EtcdClients(KV.KVClient Kv, Watch.WatchClient Watch, Lease.LeaseClient Lease, V3Lockpb.Lock.LockClient Lock);
