using System.Net;
using System.Text;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Run;
using Dataplane.Linux;

namespace Dataplane.Host.Agent;

/// <summary>
/// What `run` makes sure of before anything is attached, so that a node that cannot run says so in one line and
/// a distinct exit code (<see cref="RunExit"/>) instead of a stack trace, or a failure after the workers started:
/// the directories it writes, the API socket's path, the node's interfaces, the metrics port. Each check leaves
/// nothing behind but the directories it was asked to create.
/// </summary>
public static class StartupChecks
{
    /// <summary>sun_path holds 108 bytes with the terminating NUL.</summary>
    private const int MaxSocketPath = 107;

    /// <summary>Creates <paramref name="dir"/> if needed and proves a file can be written in it.</summary>
    public static void WritableDirectory(string option, string dir, int exitCode)
    {
        if (Problem(dir) is { } why) throw new StartupFailure(exitCode, $"{option} {dir}", why);
    }

    /// <summary>The API socket's directory can be made and written, and its path fits a unix socket address.</summary>
    public static void ApiSocket(string socketPath)
    {
        if (socketPath.Length == 0) return;
        int bytes = Encoding.UTF8.GetByteCount(socketPath);
        if (bytes > MaxSocketPath)
            throw new StartupFailure(RunExit.ApiSocket, $"--socket {socketPath}", $"{bytes} bytes long, a unix socket path holds at most {MaxSocketPath}");
        string dir = Path.GetDirectoryName(Path.GetFullPath(socketPath))!;
        if (Problem(dir) is { } why) throw new StartupFailure(RunExit.ApiSocket, $"--socket {socketPath}", why);
        if (Directory.Exists(socketPath)) throw new StartupFailure(RunExit.ApiSocket, $"--socket {socketPath}", "is a directory");
    }

    /// <summary>Every node interface of <paramref name="first"/> exists (pods' interfaces come and go with their pods and are waited for).</summary>
    public static void Interfaces(DatapathSnapshot first, Func<string, bool> exists)
    {
        foreach (var p in first.Ports)
            if (p.Kind == PortKind.Interface && !exists(p.Name))
                throw new StartupFailure(RunExit.Interface, $"interface {p.Name}", "no such interface in this network namespace (named by the config's DataplaneNode)");
    }

    /// <summary>
    /// Binds the metrics address and port as the endpoint will (HttpListener, the same prefix) and lets go: a port
    /// another process holds, or an address not of this host, is found before forwarding starts.
    /// </summary>
    public static void MetricsPort(string address, int port)
    {
        if (port <= 0) return;
        string what = $"--metrics-address {address} --metrics-port {port}";
        using var probe = new HttpListener();
        try
        {
            probe.Prefixes.Add($"http://{address}:{port}/metrics/");   // as prometheus-net's MetricServer builds it
            probe.Start();
        }
        catch (Exception e) when (e is HttpListenerException or System.Net.Sockets.SocketException or ArgumentException or IOException)
        {
            throw new StartupFailure(RunExit.Metrics, what, e.Message);
        }
        finally { if (probe.IsListening) probe.Stop(); }
    }

    private static string? Problem(string dir)
    {
        for (string? up = Path.GetFullPath(dir); up is not null; up = Path.GetDirectoryName(up))
            if (File.Exists(up)) return $"{up} is a file, not a directory";
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".dataplane-probe-{Environment.ProcessId}");
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }
}
