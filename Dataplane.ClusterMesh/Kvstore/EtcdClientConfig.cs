namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// How to reach one etcd cluster: its members' URLs and, for https, the CA that signs the server certificates
/// (<c>trusted-ca-file</c>; the system store when absent), this client's certificate and key (mutual TLS) and the
/// name the server certificate must carry (the endpoint's host when absent); with etcd auth on, a user and password.
/// Read from Cilium's per-cluster etcd config file by <see cref="Config.EtcdConfigFile"/>; paths are absolute.
/// </summary>
public sealed record EtcdClientConfig(IReadOnlyList<string> Endpoints)
{
    public string? TrustedCaFile { get; init; }
    public string? CertFile { get; init; }
    public string? KeyFile { get; init; }
    public string? ServerName { get; init; }
    public string? Username { get; init; }
    public string? Password { get; init; }
    /// <summary>The file this came from: it and the files it names are watched and re-read when they change.</summary>
    public string? SourceFile { get; init; }

    public bool UsesTls => Endpoints.Any(e => e.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
    public bool UsesAuth => Username is { Length: > 0 };

    /// <summary>Every file this configuration depends on (for change detection).</summary>
    public IEnumerable<string> Files()
    {
        foreach (var f in new[] { SourceFile, TrustedCaFile, CertFile, KeyFile })
            if (f is { Length: > 0 }) yield return f;
    }
}
