using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Portal services end to end, with real peers: BIRD is the on-prem router with a VM namespace behind it;
/// `dataplane-gateway run` and two `dataplane-node run` (a backend pod each) share the mesh segment (a bridge),
/// VXLAN between them. The Service web (LoadBalancer, global + portal, its VIP from a CiliumLoadBalancerIPPool) is
/// announced by the gateway's BGP: BIRD has the VIP route and installs it, the VM opens TCP connections to the VIP,
/// the gateway balances them with Maglev over the pods of both nodes and carries them over VXLAN; replies return
/// through the gateway. A LoadBalancer service that is not a portal gets no route. On SIGTERM the VIP is withdrawn.
/// Addresses: pods 198.18.150.0/24 (node-1) and 198.18.151.0/24 (node-2), VIP pool 198.18.160.0/28, VM subnet
/// 198.18.131.0/24, gateway–router 198.18.140.0/24, mesh underlay 198.18.141.0/24.
/// </summary>
public sealed class GatewayPortalNetnsTests(ITestOutputHelper output) : IDisposable
{
    private const string EgressIp = "198.18.140.100";
    private const string GwOnPrem = "198.18.140.1", RouterIp = "198.18.140.2", GwMesh = "198.18.141.1", VmIp = "198.18.131.10";
    private const int Connections = 16;
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);
    private static readonly (string Node, string Mesh, string PodIp, string PodMac, string Cidr)[] Nodes =
    [
        ("node-1", "198.18.141.2", "198.18.150.10", "02:00:00:00:c6:10", "198.18.150.0/24"),
        ("node-2", "198.18.141.3", "198.18.151.10", "02:00:00:00:c6:11", "198.18.151.0/24"),
    ];

    private readonly NetnsSet _set = new("dpp");
    private BirdTor? _bird;

    private string GatewayDll => Path.Combine(AppContext.BaseDirectory, "dataplane-gateway.dll");
    private string NodeDll => Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");

    [SkippableFact]
    public async Task VmReachesPodsOfTwoNodesThroughThePortalVipLearnedByBgp()
    {
        var t = Start(egressPolicy: false);
        var (gwAgent, gwSocket, vm, pods) = (t.Gateway, t.GatewaySocket, t.Vm, t.Pods);
        string Context() => t.Context(_bird!);

        // BIRD learns the portal VIP (and not the plain LoadBalancer service's) from the gateway.
        string vip = VipOf(gwAgent, gwSocket);
        await Eventually.True(() => _bird!.RoutesFromNode().Contains($"{vip}/32"), $"BIRD learns the portal VIP {vip}\n" + Context(), 60);
        string routes = _bird!.Birdc("show", "route").Stdout;
        output.WriteLine(routes);
        Assert.Contains($"{vip}/32", routes);
        Assert.DoesNotMatch(@"198\.18\.160\.\d+/32", routes.Replace($"{vip}/32", ""));   // the plain service's VIP is not announced

        // The VM opens connections to the VIP; each is answered by a pod on one of the two nodes.
        var servers = pods.Select(p => _set.Start(p, "python3", "-u", PodTopology.Echo, "tcp-server", "8080")).ToList();
        Assert.All(servers, s => Assert.True(s.WaitFor("listening", Short), s.Output));
        for (int c = 0; c < Connections; c++)
        {
            var r = _set.Exec(vm, TimeSpan.FromSeconds(30), "python3", PodTopology.Echo, "tcp-client", vip, "80", "10000");
            Assert.True(r.Ok && r.Output.Contains("echoed 10000"), $"VM → {vip}:80 connection {c} failed: {r.Output}\n{Context()}");
        }
        var served = servers.Select(s => Regex.Matches(s.Output, "served 10000").Count).ToList();
        output.WriteLine($"connections served: node-1 {served[0]}, node-2 {served[1]}");
        Assert.Equal(Connections, served.Sum());
        Assert.All(served, n => Assert.True(n > 0, $"Maglev sent every connection to one node: {string.Join(", ", served)}"));

        // Graceful stop: the VIP is withdrawn and BIRD loses it.
        Assert.True(gwAgent.Stop(TimeSpan.FromSeconds(30)), "gateway did not stop:\n" + gwAgent.Output);
        Assert.Matches(@"withdrew [1-9]\d* route\(s\) from 1 established peer", gwAgent.Output);
        await Eventually.True(() => !_bird!.RoutesFromNode().Contains($"{vip}/32"), "BIRD dropped the VIP\n" + _bird!.Log());
    }

    [SkippableFact]
    public async Task PodsReachTheOnPremVmThroughTheGatewayAndTheSelectedOneFromItsEgressIp()
    {
        var t = Start(egressPolicy: true);
        string Context() => t.Context(_bird!);
        // The gateway installs the VM subnet from BIRD; BIRD has the pod CIDRs (replies to unselected pods go back by them).
        await Eventually.True(() => AgentApi.Status(t.GatewaySocket).Bgp!.LearnedRoutes.Any(r => r.Prefix == "198.18.131.0/24"), "gateway learns the VM subnet\n" + Context(), 60);
        await Eventually.True(() => _bird!.RoutesFromNode().Contains("198.18.151.0/24"), "BIRD learns the pod CIDRs\n" + Context(), 60);

        // The VM's server says who connected: the source address as it arrives on-prem.
        var server = _set.Start(t.Vm, "python3", "-u", "-c", $$"""
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('{{VmIp}}', 9000)); s.listen(8); s.settimeout(60)
            print('listening', flush=True)
            while True:
                c, a = s.accept(); c.settimeout(10); n = 0
                while True:
                    d = c.recv(65536)
                    if not d: break
                    n += len(d)
                c.sendall(str(n).encode()); c.close()
                print('peer', a[0], n, flush=True)
            """);
        Assert.True(server.WaitFor("listening", Short), server.Output);

        // web-1 (node-1) is selected by the CiliumEgressGatewayPolicy: the VM sees the gateway's egress IP.
        var selected = _set.Exec(t.Pods[0], TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", VmIp, "9000", "100000");
        Assert.True(selected.Ok && selected.Output.Contains("echoed 100000"), $"web-1 → VM failed: {selected.Output}\n{Context()}");
        Assert.True(server.WaitFor($"peer {EgressIp} 100000", Short), $"the VM did not see the egress IP:\n{server.Output}\n{Context()}");

        // web-2 (node-2) is not: it still leaves through the gateway (nodes route the on-prem prefix there), unSNATed.
        var other = _set.Exec(t.Pods[1], TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", VmIp, "9000", "100000");
        Assert.True(other.Ok && other.Output.Contains("echoed 100000"), $"web-2 → VM failed: {other.Output}\n{Context()}");
        Assert.True(server.WaitFor($"peer {Nodes[1].PodIp} 100000", Short), $"the VM did not see web-2's own address:\n{server.Output}\n{Context()}");
        output.WriteLine(server.Output);
        Assert.DoesNotContain($"peer {Nodes[0].PodIp}", server.Output);
    }

    private sealed record Topology(Background Gateway, string GatewaySocket, string Vm, List<string> Pods,
        List<(string Name, Background Agent, string Socket)> Agents)
    {
        public string Context(BirdTor bird) => $"gateway:\n{Gateway.Output}\n"
            + string.Join("\n", Agents.Select(a => $"{a.Name}:\n{a.Agent.Output}")) + $"\nbird:\n{bird.Log()}";
    }

    /// <summary>
    /// Builds the namespaces, writes every host's directory and starts BIRD, both nodes and the gateway (API up).
    /// <paramref name="egressPolicy"/>: a CiliumEgressGatewayPolicy sends web-1's traffic to the VM subnet out from the
    /// gateway's egress IP <see cref="EgressIp"/> (an address of its on-prem interface).
    /// </summary>
    private Topology Start(bool egressPolicy)
    {
        Requires.RootAnd("ip", "python3", "bird", "birdc");
        string gw = _set.Add("g"), router = _set.Add("r"), vm = _set.Add("v"), sw = _set.Add("w");
        NetnsSet.KernelStaysOff(gw);
        Sh.Must("ip", "-n", sw, "link", "add", "br0", "type", "bridge");
        Sh.Must("ip", "-n", sw, "link", "set", "br0", "up");
        string gop = $"gop{_set.Suffix}", gms = $"gms{_set.Suffix}";
        _set.Veth(gop, gw, "tgw", router);
        _set.Veth("tcl", router, "eth0", vm);
        _set.Veth(gms, gw, "pg", sw);
        Sh.Must("ip", "-n", sw, "link", "set", "pg", "master", "br0", "up");
        Sh.Must("ip", "-n", gw, "addr", "add", $"{GwOnPrem}/24", "dev", gop);   // the BGP session is the agent's kernel TCP
        Sh.Must("ip", "-n", router, "addr", "add", $"{RouterIp}/24", "dev", "tgw");
        Sh.Must("ip", "-n", router, "addr", "add", "198.18.131.1/24", "dev", "tcl");
        NetnsSet.Must(router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Sh.Must("ip", "-n", vm, "addr", "add", $"{VmIp}/24", "dev", "eth0");
        foreach (var (ns, dev) in new[] { (gw, gop), (gw, gms), (router, "tgw"), (router, "tcl"), (vm, "eth0") })
            NetnsSet.Up(ns, dev);
        Sh.Must("ip", "-n", vm, "route", "add", "default", "via", "198.18.131.1");

        string gwConfig = _set.Dir("gwcfg");
        File.WriteAllText(Path.Combine(gwConfig, "cluster.yaml"), SharedManifests(gop, gms, egressPolicy));
        File.WriteAllText(Path.Combine(gwConfig, "gateway.yaml"), GatewayYaml(gop, gms, NetnsSet.Mac(gw, gop), NetnsSet.Mac(gw, gms), egressPolicy));
        var agents = new List<(string Name, Background Agent, string Socket)>();
        var pods = new List<string>();
        for (int i = 0; i < Nodes.Length; i++)
        {
            var n = Nodes[i];
            string node = _set.Add($"n{i}"), pod = _set.Add($"p{i}"), nms = $"nm{i}{_set.Suffix}", lxc = PodTopology.LxcName("default", $"web-{i + 1}");
            NetnsSet.KernelStaysOff(node);
            _set.Veth(nms, node, $"pn{i}", sw);
            Sh.Must("ip", "-n", sw, "link", "set", $"pn{i}", "master", "br0", "up");
            _set.Veth(lxc, node, "eth0", pod);
            Sh.Must("ip", "-n", pod, "link", "set", "eth0", "address", n.PodMac);
            Sh.Must("ip", "-n", pod, "addr", "add", $"{n.PodIp}/24", "dev", "eth0");
            foreach (var (ns, dev) in new[] { (node, nms), (node, lxc), (pod, "eth0") }) NetnsSet.Up(ns, dev);
            Sh.Must("ip", "-n", pod, "route", "add", "default", "via", n.PodIp[..n.PodIp.LastIndexOf('.')] + ".1");
            string config = _set.Dir($"n{i}cfg");
            File.WriteAllText(Path.Combine(config, "cluster.yaml"), SharedManifests(gop, gms, egressPolicy));
            File.WriteAllText(Path.Combine(config, "node.yaml"), $$$"""
                apiVersion: dataplane.io/v1alpha1
                kind: DataplaneNode
                metadata: {name: {{{n.Node}}}}
                spec:
                  interfaces: [{name: {{{nms}}}, mac: "{{{NetnsSet.Mac(node, nms)}}}", addresses: ["{{{n.Mesh}}}/24"]}]
                  overlay: {mode: vxlan}
                """);
            agents.Add((n.Node, _set.Start(node, ["dotnet", NodeDll, "run", "--config", config, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(config)]),
                PodTopology.SocketOf(config)));
            pods.Add(pod);
        }
        _bird = new BirdTor(_set, router, RouterIp, GwOnPrem, 65001, password: null);
        string gwSocket = PodTopology.SocketOf(gwConfig);
        var gwAgent = _set.Start(gw, ["dotnet", GatewayDll, "run", "--config", gwConfig, "--backend", "af_packet", "--ct-max", "4096", "--socket", gwSocket]);
        foreach (var (name, agent, _) in agents)
            Assert.True(agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), $"{name} did not start:\n{agent.Output}");
        Assert.True(gwAgent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "gateway did not start:\n" + gwAgent.Output);
        return new Topology(gwAgent, gwSocket, vm, pods, agents);

    }

    /// <summary>The VIP LB-IPAM gave default/web, as the gateway's status reports it.</summary>
    private static string VipOf(Background gw, string socket)
    {
        var lb = AgentApi.Status(socket).LoadBalancerIps;
        Assert.True(lb is not null, "no LB-IPAM allocations in the gateway's status\n" + gw.Output);
        return lb!.Allocated.Single(a => a.Service == "default/web").Ip;
    }

    /// <summary>The cluster's manifests, the same in every host's directory (the DataplaneGateway names the gateway's interfaces).</summary>
    private static string SharedManifests(string gop, string gms, bool egressPolicy) => $$$"""
        apiVersion: v1
        kind: Node
        metadata: {name: gw-1, labels: {dataplane.io/role: gateway}}
        status: {addresses: [{type: InternalIP, address: {{{GwMesh}}}}]}
        {{{string.Concat(Nodes.Select(n => $$"""

            ---
            apiVersion: v1
            kind: Node
            metadata: {name: {{n.Node}}}
            spec: {podCIDRs: ["{{n.Cidr}}"]}
            status: {addresses: [{type: InternalIP, address: {{n.Mesh}}}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web-{{n.Node[^1]}}, namespace: default, labels: {app: web, at: {{n.Node}} }, annotations: {dataplane.io/mac: "{{n.PodMac}}" } }
            spec: {nodeName: {{n.Node}}}
            status: {podIPs: [{ip: {{n.PodIp}}}]}
            """))}}}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: default
          labels: {app: web}
          annotations: {service.cilium.io/global: "true", io.cilium/portal: "true"}
        spec:
          type: LoadBalancer
          clusterIP: 198.18.170.10
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: plain, namespace: default, labels: {app: web}}
        spec:
          type: LoadBalancer
          clusterIP: 198.18.170.11
          selector: {app: web}
          ports: [{name: http, port: 81, targetPort: 8080}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumLoadBalancerIPPool
        metadata: {name: portal}
        spec:
          blocks: [{cidr: 198.18.160.0/28}]
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneGateway
        metadata: {name: gw-1}
        spec:
          meshInterfaces: [{{{gms}}}]
          onPremInterfaces: [{{{gop}}}]
          onPremPrefixes: ["198.18.131.0/24"]
        {{{(egressPolicy ? $"""
            ---
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {"{"}name: web-1-to-onprem{"}"}
            spec:
              selectors: [{"{"}podSelector: {"{"}matchLabels: {"{"}at: node-1{"}"}{"}"}{"}"}]
              destinationCIDRs: ["198.18.131.0/24"]
              egressGateway: {"{"}nodeSelector: {"{"}matchLabels: {"{"}dataplane.io/role: gateway{"}"}{"}"}, egressIP: {EgressIp}{"}"}
            """ : "")}}}
        """;

    /// <param name="egressAddress">The on-prem interface also has the egress IP: the gateway answers ARP for it (its
    /// kernel does not have it, so the kernel never answers the translated connections).</param>
    private static string GatewayYaml(string gop, string gms, string gopMac, string gmsMac, bool egressAddress) => $$$"""
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: gw-1}
        spec:
          interfaces:
          - {name: {{{gop}}}, mac: "{{{gopMac}}}", addresses: ["{{{GwOnPrem}}}/24"{{{(egressAddress ? $", \"{EgressIp}/24\"" : "")}}}]}
          - {name: {{{gms}}}, mac: "{{{gmsMac}}}", addresses: ["{{{GwMesh}}}/24"]}
          overlay: {mode: vxlan}
        ---
        {{{OnPremBgpYaml.For(RouterIp, announceWebVips: true)}}}
        """;

    public void Dispose()
    {
        _bird?.Dispose();
        _set.Dispose();
    }
}
