namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>Timeouts and retry pacing of one etcd connection.</summary>
public sealed record EtcdOptions
{
    /// <summary>Deadline of one unary request (get, put, txn, lease grant).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>TCP connect timeout; an unreachable etcd is noticed this quickly.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>
    /// HTTP/2 keep-alive ping period while a stream is open: a silent peer on an idle watch stream is detected after
    /// ping + timeout. Not below etcd's <c>--grpc-keepalive-min-time</c> (5 s by default): a server pinged more often
    /// closes the connection with ENHANCE_YOUR_CALM (too many pings).
    /// </summary>
    public TimeSpan KeepAlivePing { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Reconnect backoff: doubles from Min up to Max, with ±20 % jitter so nodes do not reconnect in step.</summary>
    public TimeSpan BackoffMin { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How often a file-based configuration and its certificates are checked for changes.</summary>
    public TimeSpan FileCheckPeriod { get; init; } = TimeSpan.FromSeconds(2);
}
