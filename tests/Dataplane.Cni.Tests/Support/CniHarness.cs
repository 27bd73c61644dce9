using System.Net;
using System.Text.Json.Nodes;

namespace Dataplane.Cni.Tests.Support;

/// <summary>
/// `dataplane-cni` run as a runtime runs it — a process with CNI_* in its environment and the configuration on
/// stdin — inside a node namespace made here (so its host-side veths never land in the test's namespace), with a
/// <see cref="ScriptedAgent"/> on a socket and the IPAM store in this harness's directory. Pod namespaces are
/// made on demand; Dispose deletes the namespaces (and with them every veth) and the directory.
/// </summary>
public sealed class CniHarness : IDisposable
{
    public const string PodCidr = "198.18.110.0/24";

    private readonly NetnsSet _set = new("dpc");
    public string Dir { get; }
    public string NodeNs { get; }
    public ScriptedAgent Agent { get; }
    public string IpamDir => Path.Combine(Dir, "ipam");
    public string NetworkName => $"dpc-{_set.Suffix}";

    public CniHarness()
    {
        try
        {
            Dir = _set.Dir("cni");
            NodeNs = _set.Add("node");
            Agent = _set.Own(new ScriptedAgent(Path.Combine(Dir, "agent.sock"), PodCidr));
        }
        catch { _set.Dispose(); throw; }
    }

    public string NewPodNamespace(string role) => _set.Add(role);

    public static string NetnsPath(string ns) => $"/var/run/netns/{ns}";

    public string NetConf(string? name = null) =>
        new JsonObject
        {
            ["cniVersion"] = "1.0.0", ["name"] = name ?? NetworkName, ["type"] = "dataplane-cni",
            ["agentSocket"] = Agent.SocketPath, ["ipam"] = new JsonObject { ["dataDir"] = IpamDir },
        }.ToJsonString();

    public sealed record PluginResult(int ExitCode, string Stdout, string Stderr)
    {
        public JsonObject Json => JsonNode.Parse(Stdout) as JsonObject ?? throw new InvalidOperationException("not a JSON object: " + Stdout + Stderr);
        public int Code => Json["code"]!.GetValue<int>();
        public string Address => Json["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];
    }

    /// <summary>One plugin process in the node namespace; a null variable is left out of the environment.</summary>
    public PluginResult Plugin(string command, string? containerId, string? netns, string? ifName, string? stdin = null, string? cniArgs = null)
    {
        var env = new Dictionary<string, string> { ["CNI_COMMAND"] = command, ["CNI_PATH"] = "/usr/lib/cni" };
        if (containerId is not null) env["CNI_CONTAINERID"] = containerId;
        if (netns is not null) env["CNI_NETNS"] = netns;
        if (ifName is not null) env["CNI_IFNAME"] = ifName;
        if (cniArgs is not null) env["CNI_ARGS"] = cniArgs;
        var r = Sh.Run(TimeSpan.FromSeconds(120), "ip", ["netns", "exec", NodeNs, "dotnet", Path.Combine(AppContext.BaseDirectory, "dataplane-cni.dll")],
            stdin ?? NetConf(), env);
        return new PluginResult(r.ExitCode, r.Stdout, r.Stderr);
    }

    /// <summary>ADD of (containerId, eth0) into <paramref name="podNs"/>.</summary>
    public PluginResult Add(string containerId, string podNs) => Plugin("ADD", containerId, NetnsPath(podNs), "eth0");

    /// <summary>The built-in IPAM's leases of this network: address → "containerId\nifName".</summary>
    public Dictionary<IPAddress, string> Leases()
    {
        string dir = Path.Combine(IpamDir, NetworkName);
        var leases = new Dictionary<IPAddress, string>();
        if (!Directory.Exists(dir)) return leases;
        foreach (var f in Directory.GetFiles(dir))
            if (IPAddress.TryParse(Path.GetFileName(f), out var ip)) leases[ip] = File.ReadAllText(f);
        return leases;
    }

    /// <summary>Every file and directory the plugin made under this harness's directory (the agent's socket aside).</summary>
    public List<string> FilesMade() =>
        [.. Directory.GetFileSystemEntries(Dir, "*", SearchOption.AllDirectories).Where(p => p != Agent.SocketPath)];

    /// <summary>
    /// Interface names in a namespace other than loopback, from ip's stdout only: while another test deletes a
    /// namespace, the kernel may add "Error: Peer netns reference is invalid." to a dump, on stderr.
    /// </summary>
    public static List<string> Links(string ns)
    {
        var r = Sh.Run("ip", "-n", ns, "-o", "link", "show");
        if (!r.Ok) throw new InvalidOperationException($"ip -n {ns} -o link show exited {r.ExitCode}: {r.Output}");
        return [.. r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(':')[1].Trim().Split('@')[0]).Where(n => n != "lo")];
    }

    public void Dispose() => _set.Dispose();
}
