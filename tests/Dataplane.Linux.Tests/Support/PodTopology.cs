using System.Security.Cryptography;
using System.Text;

namespace Dataplane.Linux.Tests.Support;

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

    public string Suffix { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
    public string DataplaneNs { get; }
    public string ConfigDir { get; }
    public IReadOnlyList<Pod> Pods { get; }
    private readonly List<Background> _children = [];

    /// <param name="policies">CiliumNetworkPolicy YAML added to the node's config.</param>
    public PodTopology(string policies)
    {
        DataplaneNs = $"dpt-d-{Suffix}";
        ConfigDir = Path.Combine(Path.GetTempPath(), $"dpt-pods-{Suffix}");
        Pods =
        [
            new("client", $"dpt-pc-{Suffix}", "198.18.100.10", "02:00:00:00:c1:01", "{app: client}"),
            new("server", $"dpt-ps-{Suffix}", "198.18.100.20", "02:00:00:00:c1:02", "{app: server}"),
        ];
        try { Build(policies); }
        catch { Dispose(); throw; }
    }

    /// <summary>Host-side interface name of a pod: "lxc" + 12 hex chars of SHA-256(namespace/name).</summary>
    public static string LxcName(string ns, string name) =>
        "lxc" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{ns}/{name}"))).ToLowerInvariant()[..12];

    public Pod this[string name] => Pods.First(p => p.Name == name);

    private void Build(string policies)
    {
        Sh.Must("ip", "netns", "add", DataplaneNs);
        Sh.Must("ip", "-n", DataplaneNs, "link", "set", "lo", "up");
        Sh.Must("ip", "netns", "exec", DataplaneNs, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
        var yaml = new StringBuilder("""
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

            """);
        foreach (var pod in Pods)
        {
            string lxc = LxcName("default", pod.Name);
            Sh.Must("ip", "netns", "add", pod.Ns);
            Sh.Must("ip", "link", "add", lxc, "netns", DataplaneNs, "type", "veth", "peer", "name", "eth0", "netns", pod.Ns);
            Sh.Must("ip", "-n", pod.Ns, "link", "set", "eth0", "address", pod.Mac);
            Sh.Must("ip", "-n", pod.Ns, "link", "set", "lo", "up");
            Sh.Must("ip", "-n", pod.Ns, "addr", "add", $"{pod.Ip}/24", "dev", "eth0");
            foreach (var (ns, dev) in new[] { (pod.Ns, "eth0"), (DataplaneNs, lxc) })
            {
                Sh.Must("ip", "-n", ns, "link", "set", dev, "up");
                // Full checksums and no GSO: the forwarder sees and sends complete frames.
                Offloads.Disable(ns, dev);
            }
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
        Directory.CreateDirectory(ConfigDir);
        File.WriteAllText(Path.Combine(ConfigDir, "cluster.yaml"), yaml.ToString());
        File.WriteAllText(Path.Combine(ConfigDir, "policy.yaml"), policies);
    }

    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => Sh.Run(timeout, "ip", ["netns", "exec", ns, .. cmd]);

    public Background Start(string ns, params string[] cmd)
    {
        var b = new Background("ip", ["netns", "exec", ns, .. cmd]);
        lock (_children) _children.Add(b);
        return b;
    }

    /// <summary>The agent's socket and state under the (per-run) config directory, so parallel agents never share them.</summary>
    public static string[] AgentArgs(string configDir) =>
        ["--socket", SocketOf(configDir), "--state-dir", Path.Combine(configDir, ".agent")];

    public static string SocketOf(string configDir) => Path.Combine(configDir, ".agent", "agent.sock");

    public Background StartForwarder(string backend, params string[] extra)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        return Start(DataplaneNs, ["dotnet", dll, "run", "--config", ConfigDir, "--backend", backend, "--ct-max", "4096", .. AgentArgs(ConfigDir), .. extra]);
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
        foreach (var ns in Pods.Select(p => p.Ns).Append(DataplaneNs))
        {
            var pids = Sh.Run("ip", "netns", "pids", ns);
            if (pids.Ok)
                foreach (var line in pids.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    if (int.TryParse(line, out int pid)) Sh.kill(pid, 9);
            Sh.Run("ip", "netns", "del", ns);
        }
        try { Directory.Delete(ConfigDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
