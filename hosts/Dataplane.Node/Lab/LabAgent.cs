using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Dataplane.Host.Api;

namespace Dataplane.Node.Lab;

/// <summary>
/// One lab node's agent: this very binary's `run` inside the node's namespace, with its own API socket, state
/// directory, flow file and metrics port, its output in a log file (so, with --keep, it outlives the lab).
/// Counters are read from its Prometheus endpoint (reached from inside the namespace) and its API socket.
/// </summary>
public sealed class LabAgent
{
    public const int MetricsPort = 9962;

    public LabAgent(LabNode node, string workDir)
    {
        Node = node;
        ConfigDir = Path.Combine(workDir, node.Name, "config");
        SocketPath = Path.Combine(workDir, node.Name, "agent.sock");
        StateDir = Path.Combine(workDir, node.Name, "state");
        FlowsFile = Path.Combine(workDir, node.Name, "flows.jsonl");
        LogFile = Path.Combine(workDir, node.Name, "agent.log");
    }

    public LabNode Node { get; }
    public string ConfigDir { get; }
    public string SocketPath { get; }
    public string StateDir { get; }
    public string FlowsFile { get; }
    public string LogFile { get; }

    /// <summary>The command that runs this program again (a single-file binary, or `dotnet dataplane-node.dll`).</summary>
    public static string[] Self()
    {
        string exe = Environment.ProcessPath ?? throw new LabException("cannot find this program's path");
        // Under `dotnet dataplane-node.dll` the process is dotnet; the single-file binary is itself.
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        return Path.GetFileNameWithoutExtension(exe) == "dotnet" && File.Exists(dll) ? [exe, dll] : [exe];
    }

    public void Start()
    {
        Directory.CreateDirectory(StateDir);
        var args = string.Join(' ', Self().Concat(["run", "--config", ConfigDir, "--backend", "af_packet",
            "--socket", SocketPath, "--state-dir", StateDir, "--flows-file", FlowsFile,
            "--metrics-port", MetricsPort.ToString(), "--ct-max", "65536"]).Select(Quote));
        // setsid + output to a file: the agent does not depend on the lab's terminal or pipes.
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false };
        foreach (var a in new[] { "sh", "-c", $"exec ip netns exec {Node.Netns} {args} >{Quote(LogFile)} 2>&1 </dev/null" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new LabException("cannot start the agent");
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>Waits until the agent says it forwards and its API answers; throws with its log otherwise.</summary>
    public void WaitReady(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            string log = File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";
            if (log.Contains("agent: API on", StringComparison.Ordinal) && Status() is not null) return;
            if (log.Contains("error:", StringComparison.Ordinal)) break;
            Thread.Sleep(200);
        }
        throw new LabException($"the agent of {Node.Name} did not start; its log:\n{(File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(none)")}");
    }

    public AgentStatus? Status() => AgentSocket.FetchStatus(SocketPath, TimeSpan.FromSeconds(3), out _, out _);

    /// <summary>The agent's metrics, fetched over a TCP socket created inside the node's namespace.</summary>
    public Dictionary<string, double> Metrics()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = NetnsThread.Run(Node.Netns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
                try
                {
                    await s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, MetricsPort), ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(3) };
        try { return MetricsScrape.Parse(http.GetStringAsync($"http://127.0.0.1:{MetricsPort}/metrics").GetAwaiter().GetResult()); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or LabException) { return []; }
    }
}
