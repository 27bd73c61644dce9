using System.Net;

namespace Dataplane.Node.Lab;

/// <summary>A pod of the lab: its Kubernetes identity, its network namespace and addresses.</summary>
public sealed record LabPod(string Namespace, string Name, string App, int Node, string Netns, IPAddress Ip, string Mac)
{
    public string FullName => $"{Namespace}/{Name}";
}

/// <summary>A node of the lab: a network namespace running the agent, its underlay interface and pod range.</summary>
public sealed record LabNode(int Index, string Name, string Netns, string Underlay, IPAddress UnderlayIp, string UnderlayMac,
    string PodCidr, IPAddress Gateway);

/// <summary>
/// The lab's network, built with iproute2: two node namespaces joined by an underlay veth (198.18.0.0/24), and
/// per pod a namespace whose eth0 is a veth to its node, where the host side carries the pod's lxc name so the
/// agent attaches it. Pods route everything via their node's gateway address (answered by the dataplane's ARP
/// responder), with the MTU lowered by the VXLAN overhead as Cilium does. All names carry the run's id, so
/// two labs never collide; <see cref="Destroy"/> removes everything with that id.
/// </summary>
public sealed class LabTopology
{
    public const string Prefix = "dpl-";
    /// <summary>VXLAN over IPv4 costs 50 bytes (outer Ethernet + IPv4 + UDP + VXLAN).</summary>
    public const int PodMtu = 1450;

    public LabTopology(string id)
    {
        Id = id;
        Nodes =
        [
            new(1, "lab-node-1", $"{Prefix}{id}-n1", "ul1", IPAddress.Parse("198.18.0.1"), "02:00:00:00:01:01", "198.18.10.0/24", IPAddress.Parse("198.18.10.1")),
            new(2, "lab-node-2", $"{Prefix}{id}-n2", "ul2", IPAddress.Parse("198.18.0.2"), "02:00:00:00:02:01", "198.18.20.0/24", IPAddress.Parse("198.18.20.1")),
        ];
        Pods =
        [
            new("shop", "web", "web", 1, $"{Prefix}{id}-web", IPAddress.Parse("198.18.10.10"), "02:00:00:00:0a:10"),
            new("shop", "scanner", "scanner", 1, $"{Prefix}{id}-scn", IPAddress.Parse("198.18.10.11"), "02:00:00:00:0a:11"),
            new("shop", "api-1", "api", 2, $"{Prefix}{id}-api1", IPAddress.Parse("198.18.20.10"), "02:00:00:00:14:10"),
            new("shop", "api-2", "api", 2, $"{Prefix}{id}-api2", IPAddress.Parse("198.18.20.11"), "02:00:00:00:14:11"),
        ];
    }

    public string Id { get; }
    public IReadOnlyList<LabNode> Nodes { get; }
    public IReadOnlyList<LabPod> Pods { get; }
    public LabPod Pod(string name) => Pods.First(p => p.Name == name);
    public LabNode NodeOf(LabPod p) => Nodes[p.Node - 1];
    public IEnumerable<string> Namespaces => Nodes.Select(n => n.Netns).Concat(Pods.Select(p => p.Netns));

    public void Build()
    {
        foreach (var ns in Namespaces)
        {
            Shell.Must("ip", "netns", "add", ns);
            Shell.Must("ip", "-n", ns, "link", "set", "lo", "up");
        }
        var (a, b) = (Nodes[0], Nodes[1]);
        Shell.Must("ip", "link", "add", a.Underlay, "netns", a.Netns, "type", "veth", "peer", "name", b.Underlay, "netns", b.Netns);
        foreach (var n in Nodes)
        {
            // The node's kernel keeps out of the way: no IPv6 autoconfiguration on the dataplane's interfaces.
            Shell.Must("ip", "netns", "exec", n.Netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            Shell.Must("ip", "-n", n.Netns, "link", "set", n.Underlay, "address", n.UnderlayMac);
            Up(n.Netns, n.Underlay);
        }
        foreach (var p in Pods)
        {
            var node = NodeOf(p);
            string lxc = Control.Config.PodParser.InterfaceName(p.Namespace, p.Name);
            Shell.Must("ip", "link", "add", lxc, "netns", node.Netns, "type", "veth", "peer", "name", "eth0", "netns", p.Netns);
            // IPv4-only pods: no router solicitations or MLD reports in the lab's flow log.
            Shell.Must("ip", "netns", "exec", p.Netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            Shell.Must("ip", "-n", p.Netns, "link", "set", "eth0", "address", p.Mac, "mtu", PodMtu.ToString());
            Shell.Must("ip", "-n", p.Netns, "addr", "add", $"{p.Ip}/24", "dev", "eth0");
            Up(p.Netns, "eth0");
            Up(node.Netns, lxc);
            Shell.Must("ip", "-n", p.Netns, "route", "add", "default", "via", node.Gateway.ToString(), "dev", "eth0");
        }
    }

    private static void Up(string ns, string dev)
    {
        // Offloads stay as the kernel set them: the AF_PACKET ports complete partial checksums and segment GSO frames.
        Shell.Must("ip", "-n", ns, "link", "set", dev, "up");
    }

    /// <summary>Kills whatever runs in the lab's namespaces and deletes them; true when something existed.</summary>
    public static bool Destroy(string id)
    {
        var list = Shell.Run("ip", "netns", "list");
        var mine = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')[0]).Where(n => n.StartsWith($"{Prefix}{id}-", StringComparison.Ordinal)).ToList();
        foreach (var ns in mine)
        {
            var pids = Shell.Run("ip", "netns", "pids", ns);
            foreach (var line in pids.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (int.TryParse(line, out int pid)) Shell.Run("kill", "-TERM", pid.ToString());
        }
        if (mine.Count > 0) Thread.Sleep(500);
        foreach (var ns in mine)
        {
            var pids = Shell.Run("ip", "netns", "pids", ns);
            foreach (var line in pids.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                if (int.TryParse(line, out int pid)) Shell.Run("kill", "-KILL", pid.ToString());
            Shell.Run("ip", "netns", "del", ns);
        }
        return mine.Count > 0;
    }
}
