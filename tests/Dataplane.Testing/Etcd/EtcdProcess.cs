using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dataplane.ClusterMesh.Kvstore;

namespace Dataplane.Testing.Etcd;

/// <summary>TLS of a test etcd: its server certificate and key and the CA its clients' certificates must come from.</summary>
public sealed record EtcdTls(string Ca, string Cert, string Key);

/// <summary>
/// A real etcd (Debian's etcd-server) on loopback with random free ports and its own temporary data dir; alone, or
/// a member of a multi-member cluster (see EtcdCluster); plaintext, or TLS requiring client certificates
/// (<c>--client-cert-auth</c>). Stop/Start keep the data dir (a restart); <see cref="Wipe"/> deletes it (a different
/// etcd on the same address). Disposal kills the process and removes the directory, also when a test failed.
/// </summary>
public sealed class EtcdProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private Process? _process;
    private readonly string _dir;
    private readonly int _peerPort;
    private readonly EtcdTls? _tls;
    private readonly System.Text.StringBuilder _log = new();

    public string Name { get; }
    public int ClientPort { get; }
    public string Endpoint => $"{(_tls != null ? "https" : "http")}://127.0.0.1:{ClientPort}";
    public string PeerUrl => $"http://127.0.0.1:{_peerPort}";
    public string DataDir => Path.Combine(_dir, "data");
    public bool Running => _process is { HasExited: false };
    /// <summary>The members of its cluster as etcd's --initial-cluster (just this one when alone).</summary>
    public string InitialCluster { get; set; }
    /// <summary>The same for every member of one cluster.</summary>
    public string ClusterToken { get; set; }
    /// <summary>What etcd printed (errors only): for failure reports.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    internal EtcdProcess(string name, EtcdTls? tls = null)
    {
        Name = name;
        ClientPort = FreePort();
        _peerPort = FreePort();
        _tls = tls;
        InitialCluster = $"{name}={PeerUrl}";
        ClusterToken = "dp-" + Guid.NewGuid().ToString("N")[..10];
        _dir = Path.Combine(Path.GetTempPath(), "dp-etcd-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_dir);
    }

    public static async Task<EtcdProcess> StartAsync(EtcdTls? tls = null)
    {
        Kernel.Requires.Tools("etcd");
        var e = new EtcdProcess("n1", tls);
        try { await e.StartAgainAsync(); }
        catch { await e.DisposeAsync(); throw; }
        return e;
    }

    /// <summary>Starts the process (again) on the same ports and data dir and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        if (Running) return;
        Launch();
        await WaitReadyAsync();
    }

    /// <summary>Starts the process without waiting (the members of a new cluster must all be up to elect a leader).</summary>
    internal void Launch()
    {
        var psi = new ProcessStartInfo("etcd")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        var args = new List<string>
        {
            "--name", Name, "--data-dir", DataDir,
            "--listen-client-urls", Endpoint, "--advertise-client-urls", Endpoint,
            "--listen-peer-urls", PeerUrl, "--initial-advertise-peer-urls", PeerUrl,
            "--initial-cluster", InitialCluster, "--initial-cluster-token", ClusterToken,
            "--logger", "zap", "--log-level", "error",
            // The tests' clients ping every second (EtcdProcess.Fast) to notice a killed member quickly.
            "--grpc-keepalive-min-time", "500ms",
        };
        if (_tls != null) args.AddRange(["--cert-file", _tls.Cert, "--key-file", _tls.Key, "--client-cert-auth", "--trusted-ca-file", _tls.Ca]);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start etcd (is etcd-server installed?)");
        // Drain the pipes so etcd never blocks on a full one; keep the (error-level) log for reports.
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
    }

    /// <summary>Waits until a linearizable read succeeds (for a cluster member: until the cluster has a leader).</summary>
    internal async Task WaitReadyAsync()
    {
        var p = _process ?? throw new InvalidOperationException("not started");
        using var probe = Connect(new EtcdOptions { RequestTimeout = TimeSpan.FromSeconds(2) });
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (p.HasExited) throw new InvalidOperationException($"etcd exited with {p.ExitCode} on start: {Log}");
            try { await probe.ListAsync("probe/", CancellationToken.None); return; }
            catch (KvStoreUnavailableException) when (sw.Elapsed < StartTimeout) { await Task.Delay(100); }
        }
    }

    /// <summary>Kills etcd (as a crash would), keeping its data dir.</summary>
    public async Task StopAsync()
    {
        var p = _process;
        if (p == null) return;
        _process = null;
        if (!p.HasExited)
        {
            p.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await p.WaitForExitAsync(cts.Token);
        }
        p.Dispose();
    }

    /// <summary>Deletes the data dir (etcd must be stopped): the next start is a brand-new etcd.</summary>
    public void Wipe()
    {
        if (Running) throw new InvalidOperationException("stop etcd before wiping it");
        if (Directory.Exists(DataDir)) Directory.Delete(DataDir, recursive: true);
    }

    /// <summary>A client of this member alone; with TLS it presents the server's own certificate (it is also a client certificate).</summary>
    public EtcdConnection Connect(EtcdOptions? options = null) => new(ClientConfig, options ?? Fast);

    public EtcdClientConfig ClientConfig => _tls == null ? new EtcdClientConfig([Endpoint])
        : new EtcdClientConfig([Endpoint]) { TrustedCaFile = _tls.Ca, CertFile = _tls.Cert, KeyFile = _tls.Key };

    /// <summary>Short timeouts so tests notice outages quickly (still generous for a loaded machine).</summary>
    public static EtcdOptions Fast { get; } = new()
    {
        RequestTimeout = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(1),
        BackoffMin = TimeSpan.FromMilliseconds(50), BackoffMax = TimeSpan.FromMilliseconds(500),
        KeepAlivePing = TimeSpan.FromSeconds(1), KeepAliveTimeout = TimeSpan.FromSeconds(2),
        FileCheckPeriod = TimeSpan.FromMilliseconds(200),
    };

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>A free loopback port never handed out before in this process (the kernel may offer a just-closed one again).</summary>
    public static int FreePort()
    {
        for (int i = 0; i < 100; i++)
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            lock (HandedOut)
                if (HandedOut.Add(port)) return port;
        }
        throw new InvalidOperationException("no fresh loopback port in 100 tries");
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); }
        finally
        {
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
