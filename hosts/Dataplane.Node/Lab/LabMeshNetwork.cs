using System.Net;
using Dataplane.Linux;
using Dataplane.Linux.Netlink;

namespace Dataplane.Node.Lab;

/// <summary>
/// What `lab --mesh` adds to the lab's network: the underlay becomes a switch (a bridge in its own namespace) that the
/// two nodes and the transit gateway lab-gw join (198.18.0.0/24, the gateway at .3); behind the gateway's on-prem
/// side (198.18.40.0/24) a router namespace runs BIRD, and behind the router a VM namespace (198.18.41.10, the on-prem
/// subnet 198.18.41.0/24) with a default route to it. The gateway's kernel keeps the on-prem address for its BGP
/// session (the agent's BGP speaker is a kernel TCP socket) and nothing else. Names carry the lab's id.
/// </summary>
public sealed class LabMeshNetwork(string id)
{
    public const string GatewayName = "lab-gw";
    public const string MeshInterface = "gmesh", OnPremInterface = "gonprem";
    public const string MeshMac = "02:00:00:00:03:01", OnPremMac = "02:00:00:00:03:02";
    public static readonly IPAddress GatewayMeshIp = IPAddress.Parse("198.18.0.3");
    public static readonly IPAddress GatewayOnPremIp = IPAddress.Parse("198.18.40.1"), RouterIp = IPAddress.Parse("198.18.40.2");
    public static readonly IPAddress RouterVmSideIp = IPAddress.Parse("198.18.41.1"), VmIp = IPAddress.Parse("198.18.41.10");
    public const string VmSubnet = "198.18.41.0/24", VmName = "billing-vm";
    /// <summary>The portal service's VIP (the one address of its CiliumLoadBalancerIPPool), announced by the gateway.</summary>
    public const string Vip = "198.18.50.10";

    public string SwitchNetns { get; } = $"{LabTopology.Prefix}{id}-sw";
    public string GatewayNetns { get; } = $"{LabTopology.Prefix}{id}-gw";
    public string RouterNetns { get; } = $"{LabTopology.Prefix}{id}-rtr";
    public string VmNetns { get; } = $"{LabTopology.Prefix}{id}-vm";
    public IEnumerable<string> Namespaces => [SwitchNetns, GatewayNetns, RouterNetns, VmNetns];

    /// <summary>The underlay switch: every node's underlay interface (and the gateway's mesh side) is a veth to the bridge.</summary>
    public void BuildUnderlay(IReadOnlyList<LabNode> nodes)
    {
        Shell.Must("ip", "-n", SwitchNetns, "link", "add", "br0", "type", "bridge");
        Shell.Must("ip", "-n", SwitchNetns, "link", "set", "br0", "up");
        using var host = RtNetlink.Open();
        foreach (var n in nodes) Attach(host, n.Underlay, n.Netns, $"s{n.Index}");
        Attach(host, MeshInterface, GatewayNetns, "sgw");
    }

    private void Attach(RtNetlink host, string dev, string netns, string port)
    {
        host.CreateVeth(dev, port, netns: netns, peerNetns: SwitchNetns);
        Shell.Must("ip", "-n", SwitchNetns, "link", "set", port, "master", "br0", "up");
    }

    /// <summary>The gateway's links (mesh side already on the switch), the router and the VM.</summary>
    public void BuildOnPrem()
    {
        using (var host = RtNetlink.Open())
        {
            host.CreateVeth(OnPremInterface, "tgw", netns: GatewayNetns, peerNetns: RouterNetns);
            host.CreateVeth("tvm", "eth0", netns: RouterNetns, peerNetns: VmNetns);
        }
        foreach (var ns in new[] { GatewayNetns, RouterNetns, VmNetns }) LabTopology.DisableIpv6(ns);
        using (var gw = RtNetlink.OpenIn(GatewayNetns))
        {
            gw.SetMac(MeshInterface, MeshMac);
            gw.SetMac(OnPremInterface, OnPremMac);
            gw.AddAddress(OnPremInterface, GatewayOnPremIp, 24);
            gw.SetUp(MeshInterface);
            gw.SetUp(OnPremInterface);
        }
        using (var r = RtNetlink.OpenIn(RouterNetns))
        {
            r.AddAddress("tgw", RouterIp, 24);
            r.AddAddress("tvm", RouterVmSideIp, 24);
            r.SetUp("tgw");
            r.SetUp("tvm");
        }
        NetNamespace.Run(RouterNetns, () => File.WriteAllText("/proc/sys/net/ipv4/ip_forward", "1"));
        using (var vm = RtNetlink.OpenIn(VmNetns))
        {
            vm.AddAddress("eth0", VmIp, 24);
            vm.SetUp("eth0");
            vm.AddRoute(new IPNetwork(IPAddress.Any, 0), RouterVmSideIp, "eth0");
        }
    }
}
