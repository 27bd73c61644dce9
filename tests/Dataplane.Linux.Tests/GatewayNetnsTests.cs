using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The transit gateway end to end, with real peers: BIRD is the on-prem router, a VM namespace sits behind it,
/// `dataplane-gateway run` joins that network to the mesh, `dataplane-node run` hosts a pod, VXLAN between gateway
/// and node. The VM is an ExternalWorkload with labels; a CiliumNetworkPolicy on the pod allows it (by label) to
/// port 8080 only (enforced by the node), one selecting the VM allows it out to the pod's 8080 and 9090 only
/// (enforced by the gateway, as the VM's traffic enters the mesh). Checked: BIRD learns the mesh's pod CIDR from the gateway and the gateway installs the VM's
/// subnet from BIRD (no static route, no static neighbour: every MAC is resolved by ARP); VM → pod over TCP on the
/// allowed port; pod → VM over TCP; VM → pod on 9090 dropped on the node with POLICY_DENIED (133) counted; VM → pod
/// on 7070 dropped on the gateway (133 counted there, nothing more on the node);
/// SIGTERM → the gateway withdraws its routes and BIRD loses them. A bad gateway config is refused with
/// file:line by `validate` and by `run`, which starts nothing.
/// Addresses: pods 198.18.150.0/24, VM subnet 198.18.131.0/24, gateway–router 198.18.140.0/24, mesh underlay
/// 198.18.141.0/24.
/// </summary>
public sealed class GatewayNetnsTests(ITestOutputHelper output) : IDisposable
{
    private const string GwOnPrem = "198.18.140.1", RouterIp = "198.18.140.2", GwMesh = "198.18.141.1", NodeMesh = "198.18.141.2";
    /// <summary>The SRv6 variant's IPv6-only mesh link and each side's End.DT46 SID (in its /48 locator).</summary>
    private const string GwMesh6 = "fd00:141::1", NodeMesh6 = "fd00:141::2", GwSid = "fd00:a1::46", NodeSid = "fd00:b1::46";
    private const string VmIp = "198.18.131.10", PodIp = "198.18.150.10", PodMac = "02:00:00:00:c5:10";
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    private readonly NetnsSet _set = new("dgw");
    private BirdTor? _bird;

    private string GatewayDll => Path.Combine(AppContext.BaseDirectory, "dataplane-gateway.dll");
    private string NodeDll => Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");

    /// <param name="overlay">
    /// The mesh overlay between gateway and node, one setting (issue 17 item 7): <c>vxlan</c> over the IPv4 underlay,
    /// or <c>srv6</c> — an IPv6 underlay, each side's End.DT46 SID in its Node record, H.Encaps by our agents (no
    /// kernel seg6 support needed), the VM's identity taken from the ipcache on the node (SRv6 carries no VNI).
    /// </param>
    [SkippableTheory]
    [InlineData("vxlan")]
    [InlineData("srv6")]
    public async Task VmReachesPodThroughGatewayWithBgpAndPolicy(string overlay)
    {
        Requires.RootAnd("ip", "python3", "bird", "birdc", "tcpdump");
        var t = Build(overlay == "srv6");
        _bird = new BirdTor(_set, t.Router, RouterIp, GwOnPrem, 65001, password: null);

        var node = _set.Start(t.Node, ["dotnet", NodeDll, "run", "--config", t.NodeConfig, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(t.NodeConfig)]);
        var gw = _set.Start(t.Gateway, ["dotnet", GatewayDll, "run", "--config", t.GatewayConfig, "--backend", "af_packet", "--ct-max", "4096",
            "--socket", PodTopology.SocketOf(t.GatewayConfig)]);
        Assert.True(node.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "node did not start:\n" + node.Output);
        Assert.True(gw.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "gateway did not start:\n" + gw.Output);
        string gwSocket = PodTopology.SocketOf(t.GatewayConfig), nodeSocket = PodTopology.SocketOf(t.NodeConfig);
        string Context() => $"gateway:\n{gw.Output}\n{Counters(gwSocket)}\nnode:\n{node.Output}\n{Counters(nodeSocket)}\nbird:\n{_bird.Log()}";

        // BGP: the router learns the mesh's pod CIDR from the gateway; the gateway installs the on-prem subnet.
        await Eventually.True(() => _bird.RoutesFromNode().Contains("198.18.150.0/24"), "BIRD learns the pod CIDR from the gateway\n" + Context(), 60);
        output.WriteLine(_bird.Birdc("show", "route", "protocol", "node").Stdout);
        await Eventually.True(() => AgentApi.Status(gwSocket).Bgp!.LearnedRoutes.Any(r => r.Prefix == "198.18.131.0/24"), "gateway learns the VM subnet\n" + Context());
        Assert.Equal([RouterIp], AgentApi.Status(gwSocket).Bgp!.LearnedRoutes.Single(r => r.Prefix == "198.18.131.0/24").NextHops);
        var verb = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", GatewayDll, "status", "--socket", gwSocket);
        output.WriteLine(verb.Output);
        Assert.True(verb.Ok, verb.Output);
        Assert.Contains("route 198.18.131.0/24 via " + RouterIp, verb.Output);

        // SRv6: what reaches the node's mesh interface for its SID while the VM and the pod talk (one line a packet).
        using var capture = t.Srv6 ? _set.Start(t.Node, "tcpdump", "-l", "-n", "-i", t.NodeMeshIf, "-Q", "in", $"ip6 dst {NodeSid}") : null;
        if (capture is not null) Thread.Sleep(1000);   // tcpdump attaches its socket

        // VM → pod on the port the policy allows for the VM's labels; pod → VM (its replies through the gateway).
        var allowed = _set.Start(t.Pod, "python3", "-u", PodTopology.Echo, "tcp-server", "8080");
        var denied = _set.Start(t.Pod, "python3", "-u", PodTopology.Echo, "tcp-server", "9090");
        var vmServer = _set.Start(t.Vm, "python3", "-u", PodTopology.Echo, "tcp-server", "9000");
        Assert.True(allowed.WaitFor("listening", Short) && denied.WaitFor("listening", Short) && vmServer.WaitFor("listening", Short),
            allowed.Output + denied.Output + vmServer.Output);
        var vmToPod = _set.Exec(t.Vm, TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", PodIp, "8080", "100000");
        Assert.True(vmToPod.Ok && vmToPod.Output.Contains("echoed 100000"), $"VM → pod:8080 failed: {vmToPod.Output}\n{Context()}");
        var podToVm = _set.Exec(t.Pod, TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", VmIp, "9000", "100000");
        Assert.True(podToVm.Ok && podToVm.Output.Contains("echoed 100000"), $"pod → VM failed: {podToVm.Output}\n{Context()}");
        if (capture is not null)
        {
            Thread.Sleep(500);
            capture.Dispose();
            var lines = capture.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => char.IsDigit(l[0])).ToList();
            output.WriteLine($"node's mesh interface, {lines.Count} packet(s) to its SID, e.g.:\n" + string.Join("\n", lines.Take(3)));
            Assert.True(lines.Count >= 6, "too few SRv6 packets reached the node's SID:\n" + capture.Output);
            Assert.All(lines, l => Assert.Contains(" IP6 ", l));
            Assert.Contains(lines, l => l.Contains("RT6", StringComparison.Ordinal) || l.Contains("srcrt", StringComparison.Ordinal));
            // The mesh link has no IPv4 at all: nothing could have gone over VXLAN in IPv4.
            Assert.DoesNotContain("inet ", Sh.Must("ip", "-n", t.Node, "addr", "show", "dev", t.NodeMeshIf));
        }

        // VM → pod:9090: not allowed for the VM's identity; the node drops it with POLICY_DENIED.
        var no = _set.Exec(t.Vm, TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", PodIp, "9090", "1000");
        Assert.True(!no.Ok && !no.TimedOut && no.Output.Contains("timed out"), $"VM → pod:9090 was not dropped: {no.Output}\n{Context()}");
        Assert.DoesNotContain("served", denied.Output);
        var drops = AgentApi.Status(nodeSocket).DropsByReason;
        Assert.True(drops.Any(d => d.Key.Contains("(133)") && d.Value > 0), "POLICY_DENIED not counted on the node: " + string.Join(", ", drops));
        Assert.DoesNotContain(AgentApi.Status(gwSocket).DropsByReason.Keys, k => k.Contains("(133)"));

        // VM → pod:7070: the VM's own egress policy (it selects the VM by label) does not allow it; the gateway
        // drops it as it enters the mesh, and the node never sees it.
        var nodeDrops = drops.Where(d => d.Key.Contains("(133)")).Sum(d => (long)d.Value);
        var third = _set.Start(t.Pod, "python3", "-u", PodTopology.Echo, "tcp-server", "7070");
        Assert.True(third.WaitFor("listening", Short), third.Output);
        var egress = _set.Exec(t.Vm, TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", PodIp, "7070", "1000");
        Assert.True(!egress.Ok && !egress.TimedOut && egress.Output.Contains("timed out"), $"VM → pod:7070 was not dropped: {egress.Output}\n{Context()}");
        var gwDrops = AgentApi.Status(gwSocket).DropsByReason;
        Assert.True(gwDrops.Any(d => d.Key.Contains("(133)") && d.Value > 0), "POLICY_DENIED not counted on the gateway: " + string.Join(", ", gwDrops));
        Assert.Equal(nodeDrops, AgentApi.Status(nodeSocket).DropsByReason.Where(d => d.Key.Contains("(133)")).Sum(d => (long)d.Value));

        if (!t.Srv6)
        {
            // The node dies (kill -9): its underlay address stops answering ARP, the gateway's watched neighbour fails
            // (reprobed every 5 s, 3 probes) and it withdraws the node's pod CIDR rather than black-hole it — a lost
            // mesh. The node comes back: announced again.
            string[] nodeRun = ["dotnet", NodeDll, "run", "--config", t.NodeConfig, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(t.NodeConfig)];
            node.Dispose();
            // The gateway's own decision first (a BGP session reset under load would also empty BIRD for a moment).
            Assert.True(gw.WaitFor("mesh node(s) node-1 unreachable: their pod CIDRs withdrawn", TimeSpan.FromSeconds(60)),
                "the gateway never found the node unreachable:\n" + Context());
            Assert.True(gw.WaitFor("the whole mesh is unreachable", TimeSpan.FromSeconds(5)), Context());
            await Eventually.True(() => !_bird.RoutesFromNode().Contains("198.18.150.0/24"), "BIRD keeps the dead node's pod CIDR\n" + Context(), 60);
            node = _set.Start(t.Node, nodeRun);
            Assert.True(node.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "node did not restart:\n" + node.Output);
            Assert.True(gw.WaitFor("mesh node(s) node-1 reachable again", TimeSpan.FromSeconds(60)), "the gateway never saw the node back:\n" + Context());
            await Eventually.True(() => _bird.RoutesFromNode().Contains("198.18.150.0/24"), "BIRD learns the pod CIDR again\n" + Context(), 60);
        }

        // Graceful stop: the gateway withdraws what it announced; BIRD loses the pod CIDR.
        Assert.True(gw.Stop(TimeSpan.FromSeconds(30)), "gateway did not stop:\n" + gw.Output);
        output.WriteLine(gw.Output);
        Assert.Matches(@"withdrew [1-9]\d* route\(s\) from 1 established peer", gw.Output);
        await Eventually.True(() => !_bird.RoutesFromNode().Contains("198.18.150.0/24"), "BIRD dropped the gateway's routes\n" + _bird.Log());
    }

    [SkippableFact]
    public void BadGatewayConfigIsRefusedWithFileAndLine()
    {
        Requires.RootAnd("ip");
        string dir = _set.Dir("bad");
        File.WriteAllText(Path.Combine(dir, "cluster.yaml"), SharedManifests());
        File.WriteAllText(Path.Combine(dir, "gateway.yaml"), GatewayYaml("gop0", "gms0", "02:00:00:00:d0:01", "02:00:00:00:d0:02").Replace("onPremInterfaces: [gop0]", "onPremInterfaces: [eth9]"));
        var check = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", GatewayDll, "validate", dir);
        output.WriteLine(check.Output);
        Assert.False(check.Ok, check.Output);
        int line = File.ReadAllLines(Path.Combine(dir, "gateway.yaml")).ToList().FindIndex(l => l.Contains("eth9")) + 1;
        Assert.Matches($@"gateway\.yaml:{line}:\d+: error: spec\.onPremInterfaces: eth9 is not an interface of DataplaneNode gw-1", check.Output);
        Assert.Contains("nothing would be applied", check.Output);

        // run refuses it the same way (exit 2) before attaching anything.
        var run = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", GatewayDll, "run", "--config", dir, "--backend", "af_packet", "--socket", Path.Combine(dir, "gw.sock"));
        Assert.Equal(2, run.ExitCode);
        Assert.Matches($@"dataplane-gateway: --config .*gateway\.yaml:{line}:\d+: spec\.onPremInterfaces: eth9", run.Output);
        Assert.False(File.Exists(Path.Combine(dir, "gw.sock")));

        // The same directory without the mistake validates.
        File.WriteAllText(Path.Combine(dir, "gateway.yaml"), GatewayYaml("gop0", "gms0", "02:00:00:00:d0:01", "02:00:00:00:d0:02"));
        var good = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", GatewayDll, "validate", dir);
        Assert.True(good.Ok, good.Output);
    }

    /// <summary>A running agent's packet and drop counters and its neighbours, for a failure's context.</summary>
    private static string Counters(string socket)
    {
        try
        {
            var s = AgentApi.Status(socket);
            return $"rx {s.RxPackets} tx {s.TxPackets} local {s.LocalPackets} dropped {s.DroppedPackets}: {string.Join(", ", s.DropsByReason)}; "
                + $"neighbours: {string.Join(", ", (s.Neighbors ?? []).Select(n => n.ToString()))}";
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException or TaskCanceledException)
        {
            return "status: " + e.Message;
        }
    }

    private sealed record Topology(string Gateway, string Router, string Vm, string Node, string Pod, string GatewayConfig, string NodeConfig,
        bool Srv6, string NodeMeshIf);

    private Topology Build(bool srv6 = false)
    {
        string gw = _set.Add("g"), router = _set.Add("r"), vm = _set.Add("v"), node = _set.Add("n"), pod = _set.Add("p");
        NetnsSet.KernelStaysOff(gw);
        NetnsSet.KernelStaysOff(node);
        string gop = $"gop{_set.Suffix}", gms = $"gms{_set.Suffix}", nms = $"nms{_set.Suffix}", lxc = PodTopology.LxcName("default", "web");
        _set.Veth(gop, gw, "tgw", router);
        _set.Veth("tcl", router, "eth0", vm);
        _set.Veth(gms, gw, nms, node);
        _set.Veth(lxc, node, "eth0", pod);
        // The gateway's on-prem address is its kernel's too: the BGP session is the agent's own TCP connection.
        Sh.Must("ip", "-n", gw, "addr", "add", $"{GwOnPrem}/24", "dev", gop);
        Sh.Must("ip", "-n", router, "addr", "add", $"{RouterIp}/24", "dev", "tgw");
        Sh.Must("ip", "-n", router, "addr", "add", "198.18.131.1/24", "dev", "tcl");
        NetnsSet.Must(router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Sh.Must("ip", "-n", vm, "addr", "add", $"{VmIp}/24", "dev", "eth0");
        Sh.Must("ip", "-n", pod, "link", "set", "eth0", "address", PodMac);
        Sh.Must("ip", "-n", pod, "addr", "add", $"{PodIp}/24", "dev", "eth0");
        foreach (var (ns, dev) in new[] { (gw, gop), (gw, gms), (router, "tgw"), (router, "tcl"), (vm, "eth0"), (node, nms), (node, lxc), (pod, "eth0") })
            NetnsSet.Up(ns, dev);
        Sh.Must("ip", "-n", vm, "route", "add", "default", "via", "198.18.131.1");
        Sh.Must("ip", "-n", pod, "route", "add", "default", "via", "198.18.150.1");

        // The cluster's manifests are the same in both directories (identities are numbered from them alike).
        string gwConfig = _set.Dir("gwcfg"), nodeConfig = _set.Dir("nodecfg");
        File.WriteAllText(Path.Combine(gwConfig, "cluster.yaml"), SharedManifests(srv6));
        File.WriteAllText(Path.Combine(nodeConfig, "cluster.yaml"), SharedManifests(srv6));
        File.WriteAllText(Path.Combine(gwConfig, "gateway.yaml"), GatewayYaml(gop, gms, NetnsSet.Mac(gw, gop), NetnsSet.Mac(gw, gms), srv6));
        File.WriteAllText(Path.Combine(nodeConfig, "node.yaml"), $$$"""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: node-1}
            spec:
              interfaces: [{name: {{{nms}}}, mac: "{{{NetnsSet.Mac(node, nms)}}}", addresses: ["{{{(srv6 ? NodeMesh6 + "/64" : NodeMesh + "/24")}}}"]}]
            {{{Overlay(srv6, NodeSid, GwSid, GwMesh6)}}}
            """);
        return new Topology(gw, router, vm, node, pod, gwConfig, nodeConfig, srv6, nms);
    }

    /// <summary>
    /// The DataplaneNode's overlay: VXLAN, or SRv6 with this side's locator and End.DT46 SID and a route to the other
    /// side's locator through its mesh address (each Node record publishes its SID, as in <c>docs/overlay.md</c>).
    /// </summary>
    private static string Overlay(bool srv6, string sid, string peerSid, string peerMesh) => !srv6 ? "  overlay: {mode: vxlan}" : $$$"""
          routes: [{destination: "{{{peerSid[..^2]}}}/48", via: "{{{peerMesh}}}"}]
          overlay:
            mode: srv6
            locators: ["{{{sid[..^2]}}}/48"]
            sids: [{sid: "{{{sid}}}", behavior: End.DT46}]
        """;

    /// <summary>A Node record's SRv6 annotations: its tunnel mode and End.DT46 SID for both inner families.</summary>
    private static string Srv6Annotations(bool srv6, string sid) =>
        srv6 ? $", annotations: {{dataplane.io/tunnel: srv6, dataplane.io/srv6-sid4: \"{sid}\", dataplane.io/srv6-sid6: \"{sid}\"}}" : "";

    private static string SharedManifests(bool srv6 = false) => $$$"""
        apiVersion: v1
        kind: Node
        metadata: {name: gw-1, labels: {dataplane.io/role: gateway}{{{Srv6Annotations(srv6, GwSid)}}}}
        status: {addresses: [{type: InternalIP, address: {{{(srv6 ? GwMesh6 : GwMesh)}}}}]}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-1{{{Srv6Annotations(srv6, NodeSid)}}}}
        spec: {podCIDRs: ["198.18.150.0/24"]}
        status: {addresses: [{type: InternalIP, address: {{{(srv6 ? NodeMesh6 : NodeMesh)}}}}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: default, labels: {app: web}, annotations: {dataplane.io/mac: "{{{PodMac}}}"}}
        spec: {nodeName: node-1}
        status: {podIPs: [{ip: {{{PodIp}}}}]}
        ---
        {{{ClusterYaml.ExternalWorkload("default", "billing-vm", "app: billing", [VmIp], "gw-1")}}}
        ---
        {{{ClusterYaml.WebFromBilling}}}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: billing-to-web, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: billing}}
          egress:
          - toEndpoints: [{matchLabels: {app: web}}]
            toPorts: [{ports: [{port: "8080", protocol: TCP}, {port: "9090", protocol: TCP}]}]
        """;

    private static string GatewayYaml(string gop, string gms, string gopMac, string gmsMac, bool srv6 = false) => $$$"""
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: gw-1}
        spec:
          interfaces:
          - {name: {{{gop}}}, mac: "{{{gopMac}}}", addresses: ["{{{GwOnPrem}}}/24"]}
          - {name: {{{gms}}}, mac: "{{{gmsMac}}}", addresses: ["{{{(srv6 ? GwMesh6 + "/64" : GwMesh + "/24")}}}"]}
        {{{Overlay(srv6, GwSid, NodeSid, NodeMesh6)}}}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneGateway
        metadata: {name: gw-1}
        spec:
          meshInterfaces: [{{{gms}}}]
          onPremInterfaces: [{{{gop}}}]
          onPremPrefixes: ["198.18.131.0/24"]
        ---
        {{{OnPremBgpYaml.For(RouterIp, announceWebVips: false)}}}
        """;

    public void Dispose()
    {
        _bird?.Dispose();
        _set.Dispose();
    }
}
