using System.Security.Cryptography;
using System.Text;

using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Netns;

/// <summary>
/// Two pods on one node: each pod is a network namespace whose eth0 is a veth to the dataplane namespace,
/// where the host side carries the pod's `lxc…` name (as the CNI plugin will create it), so `dataplane-node
/// run` attaches to it as that pod's port. Pods use a /24 on-link route: every neighbour they ask for is
/// answered by the dataplane's ARP responder with its router MAC. Addresses from 198.18.100.0/24 only.
/// Dispose kills what runs inside and deletes the namespaces (and with them the veths).
/// </summary>
public sealed class PodTopology : IDisposable
{
    public sealed record Pod(string Name, string Ns, string Ip, string Mac, string Labels);

    private readonly NetnsSet _set = new();
    public string Suffix => _set.Suffix;
    public string DataplaneNs { get; } = "";
    public string ConfigDir { get; } = "";
    public IReadOnlyList<Pod> Pods { get; } = [];

    /// <param name="policies">CiliumNetworkPolicy YAML added to the node's config.</param>
    public PodTopology(string policies)
    {
        try
        {
            ConfigDir = _set.Dir("pods");
            DataplaneNs = _set.Add("d");
            Pods =
            [
                new("client", _set.Add("pc"), "198.18.100.10", "02:00:00:00:c1:01", "{app: client}"),
                new("server", _set.Add("ps"), "198.18.100.20", "02:00:00:00:c1:02", "{app: server}"),
            ];
            Build(policies);
        }
        catch { Dispose(); throw; }
    }

    /// <summary>Host-side interface name of a pod: "lxc" + 12 hex chars of SHA-256(namespace/name).</summary>
    public static string LxcName(string ns, string name) =>
        "lxc" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{ns}/{name}"))).ToLowerInvariant()[..12];

    public Pod this[string name] => Pods.First(p => p.Name == name);

    /// <summary>The node "dp" these pods live on: its Node (pod CIDR 198.18.100.0/24) and its DataplaneNode.</summary>
    public const string NodeYaml = """
        apiVersion: v1
        kind: Node
        metadata: {name: dp}
        spec: {podCIDRs: ["198.18.100.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: dp}
        spec: {routerMac: "02:00:00:00:00:99"}

        """;

    private void Build(string policies)
    {
        NetnsSet.KernelStaysOff(DataplaneNs);
        var yaml = new StringBuilder(NodeYaml);
        foreach (var pod in Pods)
        {
            string lxc = LxcName("default", pod.Name);
            _set.Veth(lxc, DataplaneNs, "eth0", pod.Ns);
            Sh.Must("ip", "-n", pod.Ns, "link", "set", "eth0", "address", pod.Mac);
            Sh.Must("ip", "-n", pod.Ns, "addr", "add", $"{pod.Ip}/24", "dev", "eth0");
            NetnsSet.Up(pod.Ns, "eth0");
            NetnsSet.Up(DataplaneNs, lxc);
            yaml.Append($"""
                ---
                apiVersion: v1
                kind: Pod
                metadata:
                  name: {pod.Name}
                  namespace: default
                  labels: {pod.Labels}
                  annotations: {"{"}dataplane.io/mac: "{pod.Mac}"{"}"}
                spec: {"{"}nodeName: dp{"}"}
                status: {"{"}podIPs: [{"{"}ip: {pod.Ip}{"}"}]{"}"}

                """);
        }
        File.WriteAllText(Path.Combine(ConfigDir, "cluster.yaml"), yaml.ToString());
        File.WriteAllText(Path.Combine(ConfigDir, "policy.yaml"), policies);
    }

    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => _set.Exec(ns, timeout, cmd);

    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    /// <summary>The test traffic helper (TCP echo client and server) shipped next to the tests.</summary>
    public static string Echo => Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");

    /// <summary>Pings <paramref name="to"/> from <paramref name="from"/>, <paramref name="count"/> requests 0.2 s apart.</summary>
    public Sh.Result Ping(Pod from, Pod to, int count) =>
        Exec(from.Ns, Short, "ping", "-c", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", "0.2", "-W", "2", to.Ip);

    /// <summary>
    /// A TCP connection the policy drops: its SYNs vanish, so the client's own connect timeout (10 s in echo.py) ends
    /// it — not a reset, and not this test's bound (under load, a client killed by the bound may never have sent a
    /// SYN, and its failure would prove nothing).
    /// </summary>
    public void AssertTcpDropped(Pod from, Pod to, int port)
    {
        var no = Exec(from.Ns, TimeSpan.FromSeconds(60), "python3", Echo, "tcp-client", to.Ip,
            port.ToString(System.Globalization.CultureInfo.InvariantCulture), "1000");
        Assert.True(!no.Ok && !no.TimedOut && no.Output.Contains("timed out", StringComparison.Ordinal),
            $"TCP {from.Name} → {to.Name}:{port} was not silently dropped: {no.Output}");
    }

    /// <summary>
    /// The standard policy check of <see cref="Fixtures.PodPolicies.ServerAllowsTcp8080"/>: the client's TCP
    /// connection to the server's port 8080 completes and echoes <paramref name="bytes"/> bytes (its replies pass
    /// through conntrack), one to port 9090 never reaches the server. <paramref name="context"/> (the forwarder's
    /// output) is added to a failure.
    /// </summary>
    public void AssertTcp8080PassesAnd9090IsDropped(int bytes, Func<string> context)
    {
        var client = this["client"];
        var server = this["server"];
        string n = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var allowed = Start(server.Ns, "python3", Echo, "tcp-server", "8080");
        var denied = Start(server.Ns, "python3", Echo, "tcp-server", "9090");
        Assert.True(allowed.WaitFor("listening", Short) && denied.WaitFor("listening", Short), allowed.Output + denied.Output);
        var ok = Exec(client.Ns, Short, "python3", Echo, "tcp-client", server.Ip, "8080", n);
        Assert.True(ok.Ok && ok.Output.Contains($"echoed {n}"), $"allowed TCP failed: {ok.Output}\n{context()}");
        Assert.True(allowed.WaitFor($"served {n}", Short), "the server did not see the allowed connection: " + allowed.Output);
        AssertTcpDropped(client, server, 9090);
        Assert.DoesNotContain("served", denied.Output);
        allowed.Dispose();
        denied.Dispose();
    }

    public Background Start(string ns, params string[] cmd) => _set.Start(ns, cmd);

    /// <summary>The agent's socket and state under the (per-run) config directory, so parallel agents never share them.</summary>
    public static string[] AgentArgs(string configDir) =>
        ["--socket", SocketOf(configDir), "--state-dir", Path.Combine(configDir, ".agent")];

    public static string SocketOf(string configDir) => Path.Combine(configDir, ".agent", "agent.sock");

    public Background StartForwarder(string backend, params string[] extra)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        return Start(DataplaneNs, ["dotnet", dll, "run", "--config", ConfigDir, "--backend", backend, "--ct-max", "4096", .. AgentArgs(ConfigDir), .. extra]);
    }

    public void Dispose() => _set.Dispose();
}
