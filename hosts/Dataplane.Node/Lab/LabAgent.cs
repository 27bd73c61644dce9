using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Dataplane.Host.Api;

namespace Dataplane.Node.Lab;

/// <summary>
/// One lab agent: a node's (this very binary's `run`) or, with --mesh, the gateway's (`dataplane-gateway run`), inside
/// its namespace, with its own API socket, state directory, flow file and metrics port, its output in a log file (so,
/// with --keep, it outlives the lab). Counters are read from its Prometheus endpoint (reached from inside the
/// namespace) and its API socket.
/// </summary>
public sealed class LabAgent
{
    public const int MetricsPort = 9962;
    private readonly string[] _program;
    private readonly bool _gateway;

    public LabAgent(LabNode node, string workDir) : this(node.Name, node.Netns, workDir, Self(), gateway: false) { }

    /// <param name="gateway">A `dataplane-gateway run`: no --state-dir (a gateway keeps no CNI registrations).</param>
    public LabAgent(string name, string netns, string workDir, string[] program, bool gateway)
    {
        Name = name;
        Netns = netns;
        _program = program;
        _gateway = gateway;
        ConfigDir = Path.Combine(workDir, name, "config");
        SocketPath = Path.Combine(workDir, name, "agent.sock");
        StateDir = Path.Combine(workDir, name, "state");
        FlowsFile = Path.Combine(workDir, name, "flows.jsonl");
        LogFile = Path.Combine(workDir, name, "agent.log");
    }

    public string Name { get; }
    public string Netns { get; }
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

    /// <summary>
    /// The command that runs dataplane-gateway: $DATAPLANE_GATEWAY (a binary, or a .dll run with dotnet; `./dev lab
    /// --mesh` sets it to the one it built), else dataplane-gateway.dll beside this program's (run with dotnet), else
    /// the dataplane-gateway binary beside this one (the .deb installs both in /usr/bin) or on PATH.
    /// </summary>
    public static string[] GatewayProgram()
    {
        string dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        if (Environment.GetEnvironmentVariable("DATAPLANE_GATEWAY") is { Length: > 0 } env)
        {
            if (!File.Exists(env)) throw new LabException($"DATAPLANE_GATEWAY={env}: no such file");
            return env.EndsWith(".dll", StringComparison.Ordinal) ? [dotnet, env] : [env];
        }
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-gateway.dll");
        if (File.Exists(dll)) return [dotnet, dll];
        foreach (var dir in new[] { Path.GetDirectoryName(Environment.ProcessPath), AppContext.BaseDirectory }
                     .Concat(Environment.GetEnvironmentVariable("PATH")?.Split(':') ?? []))
            if (dir is { Length: > 0 } && File.Exists(Path.Combine(dir, "dataplane-gateway"))) return [Path.Combine(dir, "dataplane-gateway")];
        throw new LabException("lab --mesh runs dataplane-gateway and cannot find it: run `./dev lab --mesh` (it builds it), "
            + "install the dataplane .deb, or set DATAPLANE_GATEWAY to its binary or dataplane-gateway.dll");
    }

    public void Start()
    {
        Directory.CreateDirectory(StateDir);
        string[] run = ["run", "--config", ConfigDir, "--backend", "af_packet", "--socket", SocketPath, "--flows-file", FlowsFile,
            "--metrics-port", MetricsPort.ToString(), "--ct-max", "65536"];
        var args = string.Join(' ', _program.Concat(run).Concat(_gateway ? [] : ["--state-dir", StateDir]).Select(Quote));
        // setsid + output to a file: the agent does not depend on the lab's terminal or pipes.
        Detached(Netns, args, LogFile);
    }

    /// <summary>Starts <paramref name="command"/> (shell-quoted) inside <paramref name="netns"/>, in its own session, output to <paramref name="log"/>.</summary>
    public static void Detached(string netns, string command, string log)
    {
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false };
        foreach (var a in new[] { "sh", "-c", $"exec ip netns exec {netns} {command} >{Quote(log)} 2>&1 </dev/null" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new LabException("cannot start " + command);
    }

    public static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

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
        throw new LabException($"the agent of {Name} did not start; its log:\n{(File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(none)")}");
    }

    public AgentStatus? Status() => AgentSocket.FetchStatus(SocketPath, TimeSpan.FromSeconds(3), out _, out _);

    /// <summary>The agent's metrics, fetched over a TCP socket created inside the node's namespace.</summary>
    public Dictionary<string, double> Metrics()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = NetnsThread.Run(Netns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
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
