using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Host.Api;
using Dataplane.Node.Api;

namespace Dataplane.Linux.Tests.Support;

/// <summary>
/// A node for CNI tests: a dataplane network namespace where the agent (`dataplane-node run`) and the CNI plugin
/// run, a config directory whose Node owns 198.18.100.0/24, the agent's socket, state and the IPAM store in one
/// temporary directory, and pod namespaces made on demand. Names carry a random suffix; Dispose kills what
/// runs in the namespaces and deletes them (and with them the veths) and the directory.
/// </summary>
public sealed class CniNode : IDisposable
{
    public const string PodCidr = "198.18.100.0/24";

    public string Suffix { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
    public string DataplaneNs { get; }
    public string Dir { get; }
    public string ConfigDir => Path.Combine(Dir, "config");
    public string SocketPath => Path.Combine(Dir, "agent.sock");
    public string StateDir => Path.Combine(Dir, "state");
    public string IpamDir => Path.Combine(Dir, "ipam");
    public string NetworkName => $"dpt-{Suffix}";
    private readonly List<string> _podNamespaces = [];
    private readonly List<Background> _children = [];

    /// <param name="extraYaml">More documents for the config directory (start with "---").</param>
    /// <param name="podCidrV6">Makes the node dual-stack with this IPv6 pod CIDR (from fd00::/8).</param>
    public CniNode(string extraYaml = "", string? podCidrV6 = null)
    {
        DataplaneNs = $"dpt-cd-{Suffix}";
        Dir = Path.Combine(Path.GetTempPath(), $"dpt-cni-{Suffix}");
        try
        {
            Directory.CreateDirectory(ConfigDir);
            File.WriteAllText(Path.Combine(ConfigDir, "node.yaml"), $"""
                apiVersion: v1
                kind: Node
                metadata: {"{"}name: dp{"}"}
                spec: {"{"}podCIDRs: ["{PodCidr}"{(podCidrV6 is null ? "" : $", \"{podCidrV6}\"")}]{"}"}
                status: {"{"}addresses: [{"{"}type: InternalIP, address: 198.18.0.1{"}"}]{"}"}
                ---
                apiVersion: dataplane.io/v1alpha1
                kind: DataplaneNode
                metadata: {"{"}name: dp{"}"}
                spec: {"{"}routerMac: "02:00:00:00:00:99"{"}"}
                {extraYaml}
                """);
            Sh.Must("ip", "netns", "add", DataplaneNs);
            Sh.Must("ip", "-n", DataplaneNs, "link", "set", "lo", "up");
            Sh.Must("ip", "netns", "exec", DataplaneNs, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        }
        catch { Dispose(); throw; }
    }

    public static string Tool(string name) => Path.Combine(AppContext.BaseDirectory, name);

    /// <summary>The network configuration the plugin gets on stdin.</summary>
    public string NetConf(string version = "1.0.0", string extra = "") =>
        $$"""{"cniVersion":"{{version}}","name":"{{NetworkName}}","type":"dataplane-cni","agentSocket":"{{SocketPath}}","ipam":{"dataDir":"{{IpamDir}}"}{{extra}}}""";

    public Background StartAgent(string backend = "af_packet")
    {
        var b = new Background("ip", ["netns", "exec", DataplaneNs, "dotnet", Tool("dataplane-node.dll"), "run", "--config", ConfigDir,
            "--backend", backend, "--ct-max", "4096", "--socket", SocketPath, "--state-dir", StateDir]);
        lock (_children) _children.Add(b);
        if (!b.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)))
            throw new InvalidOperationException("agent did not start:\n" + b.Output);
        return b;
    }

    /// <summary>A pod sandbox: an empty network namespace, as a runtime makes it before ADD.</summary>
    public string NewPodNamespace(string name)
    {
        string ns = $"dpt-cp{name}-{Suffix}";
        Sh.Must("ip", "netns", "add", ns);
        lock (_podNamespaces) _podNamespaces.Add(ns);
        return ns;
    }

    public static string NetnsPath(string ns) => $"/var/run/netns/{ns}";

    public sealed record PluginResult(int ExitCode, string Stdout, string Stderr)
    {
        public JsonObject Json => JsonNode.Parse(Stdout) as JsonObject ?? throw new InvalidOperationException("not a JSON object: " + Stdout);
    }

    /// <summary>Runs the plugin as a runtime does: CNI_* in the environment, the configuration on stdin, in the dataplane namespace.</summary>
    public PluginResult Plugin(string command, string? containerId, string? netnsPath, string? ifName, string stdin, string? cniArgs = null)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", DataplaneNs, "dotnet", Tool("dataplane-cni.dll") }) psi.ArgumentList.Add(a);
        psi.Environment["CNI_COMMAND"] = command;
        psi.Environment["CNI_PATH"] = "/usr/lib/cni";
        if (containerId is not null) psi.Environment["CNI_CONTAINERID"] = containerId;
        if (netnsPath is not null) psi.Environment["CNI_NETNS"] = netnsPath;
        if (ifName is not null) psi.Environment["CNI_IFNAME"] = ifName;
        if (cniArgs is not null) psi.Environment["CNI_ARGS"] = cniArgs;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            return new PluginResult(-1, stdout.Result, "timed out\n" + stderr.Result);
        }
        p.WaitForExit();
        return new PluginResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>ADD that must succeed; returns the pod's IPv4 address.</summary>
    public string Add(string containerId, string podNs, string cniArgs = "", string extraConf = "")
    {
        var r = Plugin("ADD", containerId, NetnsPath(podNs), "eth0", NetConf(extra: extraConf), cniArgs);
        if (r.ExitCode != 0) throw new InvalidOperationException($"ADD {containerId} failed: {r.Stdout}{r.Stderr}");
        return r.Json["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
    }

    public AgentStatus Status()
    {
        using var http = AgentSocket.CreateClient(SocketPath, TimeSpan.FromSeconds(20));
        return http.GetFromJsonAsync<AgentStatus>("v1/status", JsonSerializerOptions.Web).GetAwaiter().GetResult()!;
    }

    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => Sh.Run(timeout, "ip", ["netns", "exec", ns, .. cmd]);

    public Background Start(string ns, params string[] cmd)
    {
        var b = new Background("ip", ["netns", "exec", ns, .. cmd]);
        lock (_children) _children.Add(b);
        return b;
    }

    public void Dispose()
    {
        lock (_children)
        {
            foreach (var c in _children)
            {
                try { c.Dispose(); } catch (Exception) { /* teardown continues whatever one child did */ }
            }
            _children.Clear();
        }
        List<string> all;
        lock (_podNamespaces) all = [.. _podNamespaces, DataplaneNs];
        foreach (var ns in all)
        {
            var pids = Sh.Run("ip", "netns", "pids", ns);
            if (pids.Ok)
                foreach (var line in pids.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    if (int.TryParse(line, out int pid)) Sh.kill(pid, 9);
            Sh.Run("ip", "netns", "del", ns);
        }
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
