using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dataplane.ClusterMesh.Kvstore;

namespace Dataplane.Testing.Etcd;

/// <summary>
/// A real etcd (Debian's etcd-server) on loopback with random free ports and its own temporary data dir.
/// Stop/Start keep the data dir (a restart); <see cref="Wipe"/> deletes it (a different etcd on the same
/// address). Disposal kills the process and removes the directory, also when a test failed.
/// </summary>
public sealed class EtcdProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private Process? _process;
    private readonly string _dir;
    private readonly int _peerPort;

    public int ClientPort { get; }
    public string Endpoint => $"http://127.0.0.1:{ClientPort}";
    public string DataDir => Path.Combine(_dir, "data");
    public bool Running => _process is { HasExited: false };

    private EtcdProcess(int clientPort, int peerPort)
    {
        ClientPort = clientPort;
        _peerPort = peerPort;
        _dir = Path.Combine(Path.GetTempPath(), "dp-etcd-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_dir);
    }

    public static async Task<EtcdProcess> StartAsync()
    {
        Kernel.Requires.Tools("etcd");
        var e = new EtcdProcess(FreePort(), FreePort());
        try { await e.StartAgainAsync(); }
        catch { await e.DisposeAsync(); throw; }
        return e;
    }

    /// <summary>Starts the process (again) on the same ports and data dir and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        if (Running) return;
        var psi = new ProcessStartInfo("etcd")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "--name", "n1", "--data-dir", DataDir,
                     "--listen-client-urls", Endpoint, "--advertise-client-urls", Endpoint,
                     "--listen-peer-urls", $"http://127.0.0.1:{_peerPort}",
                     "--initial-advertise-peer-urls", $"http://127.0.0.1:{_peerPort}",
                     "--initial-cluster", $"n1=http://127.0.0.1:{_peerPort}",
                     "--logger", "zap", "--log-level", "error",
                 })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start etcd (is etcd-server installed?)");
        // Drain the pipes so etcd never blocks on a full one.
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;

        using var probe = new EtcdConnection([Endpoint], new EtcdOptions { RequestTimeout = TimeSpan.FromSeconds(2) });
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (p.HasExited) throw new InvalidOperationException($"etcd exited with {p.ExitCode} on start");
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

    public EtcdConnection Connect(EtcdOptions? options = null) => new([Endpoint], options ?? Fast);

    /// <summary>Short timeouts so tests notice outages quickly (still generous for a loaded machine).</summary>
    public static EtcdOptions Fast { get; } = new()
    {
        RequestTimeout = TimeSpan.FromSeconds(5), ConnectTimeout = TimeSpan.FromSeconds(1),
        BackoffMin = TimeSpan.FromMilliseconds(50), BackoffMax = TimeSpan.FromMilliseconds(500),
        KeepAlivePing = TimeSpan.FromSeconds(1), KeepAliveTimeout = TimeSpan.FromSeconds(2),
    };

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
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
