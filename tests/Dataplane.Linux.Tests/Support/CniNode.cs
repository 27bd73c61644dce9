using System.Net.Http.Json;
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

    private readonly NetnsSet _set = new();
    public string Suffix => _set.Suffix;
    public string DataplaneNs { get; } = "";
    public string Dir { get; } = "";
    public string ConfigDir => Path.Combine(Dir, "config");
    public string SocketPath => Path.Combine(Dir, "agent.sock");
    public string StateDir => Path.Combine(Dir, "state");
    public string IpamDir => Path.Combine(Dir, "ipam");
    public string NetworkName => $"dpt-{Suffix}";

    /// <param name="extraYaml">More documents for the config directory (start with "---").</param>
    /// <param name="podCidrV6">Makes the node dual-stack with this IPv6 pod CIDR (from fd00::/8).</param>
    public CniNode(string extraYaml = "", string? podCidrV6 = null)
    {
        try
        {
            Dir = _set.Dir("cni");
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
            DataplaneNs = _set.Add("cd");
            NetnsSet.KernelStaysOff(DataplaneNs);
        }
        catch { Dispose(); throw; }
    }

    public static string Tool(string name) => Path.Combine(AppContext.BaseDirectory, name);

    /// <summary>The network configuration the plugin gets on stdin.</summary>
    public string NetConf(string version = "1.0.0", string extra = "") =>
        $$"""{"cniVersion":"{{version}}","name":"{{NetworkName}}","type":"dataplane-cni","agentSocket":"{{SocketPath}}","ipam":{"dataDir":"{{IpamDir}}"}{{extra}}}""";

    public Background StartAgent(string backend = "af_packet")
    {
        var b = _set.Start(DataplaneNs, "dotnet", Tool("dataplane-node.dll"), "run", "--config", ConfigDir,
            "--backend", backend, "--ct-max", "4096", "--socket", SocketPath, "--state-dir", StateDir);
        if (!b.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)))
            throw new InvalidOperationException("agent did not start:\n" + b.Output);
        return b;
    }

    /// <summary>A pod sandbox: an empty network namespace, as a runtime makes it before ADD.</summary>
    public string NewPodNamespace(string name) => _set.Add($"cp{name}");

    public static string NetnsPath(string ns) => $"/var/run/netns/{ns}";

    public sealed record PluginResult(int ExitCode, string Stdout, string Stderr)
    {
        public JsonObject Json => JsonNode.Parse(Stdout) as JsonObject ?? throw new InvalidOperationException("not a JSON object: " + Stdout);
    }

    /// <summary>Runs the plugin as a runtime does: CNI_* in the environment, the configuration on stdin, in the dataplane namespace.</summary>
    public PluginResult Plugin(string command, string? containerId, string? netnsPath, string? ifName, string stdin, string? cniArgs = null)
    {
        var env = new Dictionary<string, string> { ["CNI_COMMAND"] = command, ["CNI_PATH"] = "/usr/lib/cni" };
        if (containerId is not null) env["CNI_CONTAINERID"] = containerId;
        if (netnsPath is not null) env["CNI_NETNS"] = netnsPath;
        if (ifName is not null) env["CNI_IFNAME"] = ifName;
        if (cniArgs is not null) env["CNI_ARGS"] = cniArgs;
        var r = Sh.Run(TimeSpan.FromSeconds(60), "ip", ["netns", "exec", DataplaneNs, "dotnet", Tool("dataplane-cni.dll")], stdin, env);
        return new PluginResult(r.ExitCode, r.Stdout, r.Stderr);
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

    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => _set.Exec(ns, timeout, cmd);

    public Background Start(string ns, params string[] cmd) => _set.Start(ns, cmd);

    public void Dispose() => _set.Dispose();
}
