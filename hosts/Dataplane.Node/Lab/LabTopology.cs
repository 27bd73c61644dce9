using System.Net;
using Dataplane.Linux;
using Dataplane.Linux.Interop;
using Dataplane.Linux.Netlink;

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
/// The lab's network, built through rtnetlink (no `ip` process; namespaces made as `ip netns add` makes them): two node namespaces joined by an underlay veth (198.18.0.0/24), and
/// per pod a namespace whose eth0 is a veth to its node, where the host side carries the pod's lxc name so the
/// agent attaches it. Pods route everything via their node's gateway address (answered by the dataplane's ARP
/// responder), with the MTU lowered by the VXLAN overhead as Cilium does. All names carry the run's id, so
/// two labs never collide; <see cref="Destroy"/> removes everything with that id. With <see cref="Mesh"/> (lab --mesh)
/// the underlay is a switch the transit gateway joins too, and an on-prem network sits behind the gateway.
/// </summary>
public sealed class LabTopology
{
    public const string Prefix = "dpl-";
    /// <summary>VXLAN over IPv4 costs 50 bytes (outer Ethernet + IPv4 + UDP + VXLAN).</summary>
    public const int PodMtu = 1450;

    public LabTopology(string id, bool mesh = false)
    {
        Id = id;
        Mesh = mesh ? new LabMeshNetwork(id) : null;
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
    /// <summary>The gateway, router and VM of `lab --mesh`; null for the plain lab.</summary>
    public LabMeshNetwork? Mesh { get; }
    public IReadOnlyList<LabNode> Nodes { get; }
    public IReadOnlyList<LabPod> Pods { get; }
    public LabPod Pod(string name) => Pods.First(p => p.Name == name);
    public LabNode NodeOf(LabPod p) => Nodes[p.Node - 1];
    public IEnumerable<string> Namespaces => Nodes.Select(n => n.Netns).Concat(Pods.Select(p => p.Netns)).Concat(Mesh?.Namespaces ?? []);

    public void Build()
    {
        try { BuildWithNetlink(); }
        catch (Exception e) when (e is NetlinkException or LinuxException or IOException or UnauthorizedAccessException or LabException)
        {
            throw new LabException($"building the lab's network: {e.Message}");
        }
    }

    private void BuildWithNetlink()
    {
        foreach (var ns in Namespaces) NetNamespace.Create(ns);
        var (a, b) = (Nodes[0], Nodes[1]);
        if (Mesh is not null) Mesh.BuildUnderlay(Nodes);
        else
        {
            using var host = RtNetlink.Open();
            host.CreateVeth(a.Underlay, b.Underlay, netns: a.Netns, peerNetns: b.Netns);
        }
        foreach (var n in Nodes)
        {
            // The node's kernel keeps out of the way: no IPv6 autoconfiguration on the dataplane's interfaces.
            DisableIpv6(n.Netns);
            using var nl = RtNetlink.OpenIn(n.Netns);
            nl.SetMac(n.Underlay, n.UnderlayMac);
            // Offloads stay as the kernel set them: the AF_PACKET ports complete partial checksums and segment GSO frames.
            nl.SetUp(n.Underlay);
        }
        foreach (var p in Pods)
        {
            var node = NodeOf(p);
            string lxc = Control.Config.PodParser.InterfaceName(p.Namespace, p.Name);
            // IPv4-only pods: no router solicitations or MLD reports in the lab's flow log.
            DisableIpv6(p.Netns);
            using (var nodeNl = RtNetlink.OpenIn(node.Netns))
                nodeNl.CreateVeth(lxc, "eth0", PodMtu, peerNetns: p.Netns);
            using (var pod = RtNetlink.OpenIn(p.Netns))
            {
                pod.SetMac("eth0", p.Mac);
                pod.AddAddress("eth0", p.Ip, 24);
                pod.SetUp("eth0");
                pod.AddRoute(new IPNetwork(IPAddress.Any, 0), node.Gateway, "eth0");
            }
            using (var nodeNl = RtNetlink.OpenIn(node.Netns)) nodeNl.SetUp(lxc);
        }
        Mesh?.BuildOnPrem();
    }

    /// <summary>sysctl net.ipv6.conf.{all,default}.disable_ipv6=1 in a namespace: /proc/sys/net is the opening thread's namespace's.</summary>
    internal static void DisableIpv6(string ns) => NetNamespace.Run(ns, () =>
    {
        foreach (var scope in new[] { "all", "default" })
            File.WriteAllText($"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6", "1");
    });

    /// <summary>Kills whatever runs in the lab's namespaces and deletes them; true when something existed.</summary>
    public static bool Destroy(string id)
    {
        var mine = NetNamespace.List().Where(n => n.StartsWith($"{Prefix}{id}-", StringComparison.Ordinal)).ToList();
        foreach (var ns in mine) Signal(ns, "TERM");
        if (mine.Count > 0) Thread.Sleep(500);
        foreach (var ns in mine)
        {
            Signal(ns, "KILL");
            NetNamespace.Delete(ns);
        }
        return mine.Count > 0;
    }

    private static void Signal(string ns, string signal)
    {
        IReadOnlyList<int> pids;
        try { pids = NetNamespace.Pids(ns); }
        catch (Exception e) when (e is IOException or LinuxException or UnauthorizedAccessException) { return; }
        foreach (int pid in pids) Shell.Run("kill", $"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
