using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Two gateways in high availability, with real peers: BIRD is the on-prem router with a VM namespace behind it and a
/// link to each gateway (gw-1, gw-2: one `dataplane-gateway run` each, both DataplaneGateways in the cluster's shared
/// manifests, each process its own by its DataplaneNode); both announce the portal VIP by BGP (hold time 3 s) and BIRD
/// installs one ECMP route over them (`merge paths on`, L4 hash). One `dataplane-node run` hosts the two backend pods,
/// VXLAN between the hosts. Proven: a flow (the same 5-tuple) gets the same backend through either gateway (Maglev
/// over the same backends); when a gateway dies (kill -9) or stops (SIGTERM, which withdraws first), BIRD drops its
/// path and a stream of connections from the VM continues through the survivor. The outage the client saw is
/// measured and printed, never asserted. Addresses: VM 198.18.131.10, router–gw-1 198.18.140.0/24, router–gw-2
/// 198.18.142.0/24, mesh 198.18.141.0/24 (gw-1 .1, node-1 .2, gw-2 .4), pods 198.18.150.0/24, VIPs 198.18.160.0/28.
/// </summary>
public sealed class GatewayHaNetnsTests(ITestOutputHelper output) : IDisposable
{
    private const int HoldSeconds = 3;
    private const string VmIp = "198.18.131.10";
    private static readonly (string Name, string OnPrem, string RouterIp, string Mesh)[] Gateways =
    [
        ("gw-1", "198.18.140.1", "198.18.140.2", "198.18.141.1"),
        ("gw-2", "198.18.142.1", "198.18.142.2", "198.18.141.4"),
    ];
    private static readonly (string Name, string Ip, string Mac)[] Pods =
    [
        ("web-1", "198.18.150.10", "02:00:00:00:c6:10"),
        ("web-2", "198.18.150.11", "02:00:00:00:c6:11"),
    ];
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly NetnsSet _set = new("dph");
    private readonly List<string> _gwNs = [], _gwConfig = [];
    private readonly Background?[] _gw = new Background?[2];
    private BirdEcmpRouter? _bird;
    private Background? _node;
    private string _router = "", _vm = "";
    private int _streams;

    private static string GatewayDll => Path.Combine(AppContext.BaseDirectory, "dataplane-gateway.dll");
    private static string NodeDll => Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");

    [SkippableFact]
    public async Task TwoGatewaysShareTheVipByEcmpKeepEachFlowsBackendAndTheSurvivorCarriesTheStream()
    {
        Build();
        string vip = AgentApi.Status(PodTopology.SocketOf(_gwConfig[0])).LoadBalancerIps!.Allocated.Single(a => a.Service == "default/web").Ip;
        Assert.Equal(vip, AgentApi.Status(PodTopology.SocketOf(_gwConfig[1])).LoadBalancerIps!.Allocated.Single(a => a.Service == "default/web").Ip);
        await BothPaths(vip);
        output.WriteLine(_bird!.Birdc("show", "route", "for", vip, "all").Stdout);
        output.WriteLine(_bird.KernelRoute($"{vip}/32"));

        // The same flows (fixed source ports) through one gateway, then through the other: the same backends.
        var viaGw1 = PinnedFlows(vip, through: 0);
        var viaGw2 = PinnedFlows(vip, through: 1);
        Assert.True(viaGw1.Values.Distinct().Count() == 2, "Maglev sent every flow to one backend:\n" + Describe(viaGw1));
        foreach (var (sport, backend) in viaGw1)
            Assert.True(viaGw2[sport] == backend, $"source port {sport}: {backend} through gw-1, {viaGw2[sport]} through gw-2\n{Describe(viaGw1)}\n{Describe(viaGw2)}");

        // kill -9 gw-1 under a stream of connections (its kernel closes the BGP session): BIRD loses gw-1's path at once,
        // the stream goes on through gw-2.
        var killed = await Outage(vip, "kill -9 gw-1", gw: 0, () => _gw[0]!.Signal(9));
        // A killed process holds its API-socket lock until the kernel has torn it down, which a loaded machine can take
        // a while to do: the restart waits for that, as an operator's supervisor would.
        Assert.True(_gw[0]!.WaitForExit(TimeSpan.FromSeconds(30)), "gw-1 survived kill -9:\n" + _gw[0]!.Output);
        _gw[0]!.Dispose();
        // gw-1 again; then SIGTERM gw-2: it withdraws first, BIRD drops its path, the stream goes on through gw-1.
        _gw[0] = StartGateway(0);
        await BothPaths(vip);
        var stopped = await Outage(vip, "SIGTERM gw-2", gw: 1, () => _gw[1]!.Signal(Sh.SIGTERM));
        Assert.True(_gw[1]!.WaitForExit(TimeSpan.FromSeconds(30)), "gw-2 did not stop:\n" + _gw[1]!.Output);
        Assert.Matches(@"withdrew [1-9]\d* route\(s\) from 1 established peer", _gw[1]!.Output);
        // gw-2 again; then gw-1 hangs (SIGSTOP: no keepalives, no forwarding, its kernel keeps the TCP session open):
        // only BIRD's hold timer ends the session; the stream goes on through gw-2.
        _gw[1] = StartGateway(1);
        await BothPaths(vip);
        var hung = await Outage(vip, "SIGSTOP gw-1", gw: 0, () => _gw[0]!.Signal(19));
        Assert.Contains("Hold timer expired", _bird!.Log());
        output.WriteLine($"measured {DateTime.UtcNow:yyyy-MM-dd} (hold time {HoldSeconds} s, a connection every {ClientStream.Interval} s): "
            + string.Join("; ", new[] { ("kill -9", killed), ("SIGTERM", stopped), ("SIGSTOP", hung) }.Select(o =>
                $"{o.Item1}: {o.Item2.Failed} failed + {o.Item2.Late} late, {o.Item2.Seconds:0.00} s")));
    }

    [SkippableFact]
    public void EachGatewayOfASharedDirectoryIsItsOwnAndMistakesPointAtTheLine()
    {
        Requires.RootAnd("ip");
        string dir = _set.Dir("val");
        File.WriteAllText(Path.Combine(dir, "cluster.yaml"), SharedManifests("gop1", "gms1", "gop2", "gms2"));
        File.WriteAllText(Path.Combine(dir, "gateway.yaml"), GatewayYaml(1, "gop2", "gms2", "02:00:00:00:d0:01", "02:00:00:00:d0:02"));
        var ok = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", GatewayDll, "validate", dir);
        Assert.True(ok.Ok, ok.Output);

        // A second document naming gw-1 again, and a DataplaneNode without a DataplaneGateway of its name.
        File.WriteAllText(Path.Combine(dir, "zz-dup.yaml"), "apiVersion: dataplane.io/v1alpha1\nkind: DataplaneGateway\nmetadata: {name: gw-1}\n"
            + "spec: {meshInterfaces: [gms1], onPremInterfaces: [gop1], onPremPrefixes: [\"198.18.131.0/24\"]}\n");
        var dup = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", GatewayDll, "validate", dir);
        Assert.False(dup.Ok);
        Assert.Matches(@"zz-dup\.yaml:3:\d+: error: duplicate DataplaneGateway gw-1", dup.Output);
        File.Delete(Path.Combine(dir, "zz-dup.yaml"));
        File.WriteAllText(Path.Combine(dir, "gateway.yaml"), GatewayYaml(1, "gop2", "gms2", "02:00:00:00:d0:01", "02:00:00:00:d0:02").Replace("gw-2", "gw-3"));
        File.AppendAllText(Path.Combine(dir, "cluster.yaml"), "\n---\napiVersion: v1\nkind: Node\nmetadata: {name: gw-3}\n");
        var none = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", GatewayDll, "validate", dir);
        Assert.False(none.Ok);
        Assert.Matches(@"gateway\.yaml:\d+:\d+: error: DataplaneNode gw-3 has no DataplaneGateway of its name; the directory has gw-1 \(at .*\), gw-2", none.Output);
    }

    /// <summary>
    /// A stream from the VM; after 20 answers, <paramref name="act"/> on gateway <paramref name="gw"/>; BIRD must lose
    /// that gateway's path and the stream must get 20 answers after that. Returns what the client saw.
    /// </summary>
    private async Task<(int Failed, int Late, double Seconds)> Outage(string vip, string what, int gw, Action act)
    {
        var stream = new ClientStream(_set, _vm, vip, 80, Path.Combine(_set.Dir($"stop{++_streams}"), "stop"));
        await Eventually.True(() => stream.AnsweredAfter(0) >= 5, $"{what}: the stream starts\n{stream.Output}\n{Context()}", 60);
        var rx = Gateways.Select((_, i) => AgentApi.Status(PodTopology.SocketOf(_gwConfig[i])).RxPackets).ToArray();
        double from = ClientStream.Now();
        await Eventually.True(() => stream.AnsweredAfter(from) >= 20, $"{what}: the stream runs\n{stream.Output}\n{Context()}", 60);
        // Both gateways carry the stream (the router's ECMP): packets each received meanwhile. A connection is ~9 packets
        // at a gateway (both sides); idle, a gateway receives ~2 a second (keepalives, ACKs). 20+ connections hashed
        // over two gateways leave one with fewer than 20 packets only if it got at most one connection (p < 1e-4).
        var carried = Gateways.Select((_, i) => AgentApi.Status(PodTopology.SocketOf(_gwConfig[i])).RxPackets - rx[i]).ToArray();
        output.WriteLine($"{what}: before, over {ClientStream.Now() - from:0.0} s, gw-1 received {carried[0]} and gw-2 {carried[1]} packets");
        Assert.All(carried, n => Assert.True(n >= 20, $"{what}: the router did not share the stream: gw-1 {carried[0]}, gw-2 {carried[1]} packets"));
        double at = ClientStream.Now();
        act();
        await Eventually.True(() => !_bird!.RoutesFrom(gw + 1).Contains($"{vip}/32"), $"{what}: BIRD drops the path\n{Context()}", 60);
        double dropped = ClientStream.Now();
        Assert.DoesNotContain($"via {Gateways[gw].OnPrem}", _bird!.KernelRoute($"{vip}/32"));
        await Eventually.True(() => stream.AnsweredAfter(dropped) >= 20, $"{what}: the stream continues through the survivor\n{stream.Output}\n{Context()}", 60);
        stream.Stop();
        var seen = stream.OutageAfter(at - ClientStream.Interval);
        output.WriteLine($"{what}: BIRD dropped the path {dropped - at:0.00} s after; the client saw {seen.Failed} failed and {seen.Late} late connection(s), outage {seen.Seconds:0.00} s");
        output.WriteLine(string.Join("\n", _bird.Log().Split('\n').Where(l => l.Contains($"gw{gw + 1}", StringComparison.Ordinal)).TakeLast(4)));
        return seen;
    }

    /// <summary>BIRD has the VIP from both gateways and its kernel one route with both next hops.</summary>
    private async Task BothPaths(string vip)
    {
        await Eventually.True(() => _bird!.RoutesFrom(1).Contains($"{vip}/32") && _bird.RoutesFrom(2).Contains($"{vip}/32"),
            "BIRD learns the VIP from both gateways\n" + Context(), 90);
        await Eventually.True(() => Gateways.All(g => _bird!.KernelRoute($"{vip}/32").Contains($"via {g.OnPrem}")),
            "BIRD installs an ECMP route over both gateways\n" + _bird!.KernelRoute($"{vip}/32") + Context(), 30);
    }

    /// <summary>
    /// 16 connections from fixed source ports, steered through gateway <paramref name="through"/> by a policy route on
    /// the router (those ports only; everything else keeps the ECMP route); per port, the backend that answered.
    /// </summary>
    private Dictionary<int, string> PinnedFlows(string vip, int through)
    {
        Sh.Must("ip", "-n", _router, "route", "replace", $"{vip}/32", "via", Gateways[through].OnPrem, "table", "101");
        Sh.Must("ip", "-n", _router, "rule", "add", "from", VmIp, "ipproto", "tcp", "sport", "41000-41015", "lookup", "101", "priority", "100");
        try
        {
            var result = new Dictionary<int, string>();
            for (int sport = 41000; sport < 41016; sport++)
            {
                var r = _set.Exec(_vm, TimeSpan.FromSeconds(20), Sh.Python, "-c", $$"""
                    import socket, struct
                    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                    s.bind(('{{VmIp}}', {{sport}})); s.settimeout(5); s.connect(('{{vip}}', 80))
                    s.sendall(b'hello'); print(s.recv(64).decode().strip()); s.close()
                    """);
                Assert.True(r.Ok && r.Stdout.Trim().StartsWith("web-", StringComparison.Ordinal),
                    $"flow from port {sport} through {Gateways[through].Name}: {r.Output}\n{Context()}");
                result[sport] = r.Stdout.Trim();
            }
            return result;
        }
        finally
        {
            Sh.Run("ip", "-n", _router, "rule", "del", "priority", "100");
        }
    }

    private static string Describe(Dictionary<int, string> flows) => string.Join("\n", flows.Select(f => $"  {f.Key} → {f.Value}"));

    private string Context() => string.Join("\n", _gw.Select((g, i) => $"{Gateways[i].Name}:\n{g?.Output}"))
        + $"\nnode-1:\n{_node?.Output}\nbird:\n{string.Join('\n', (_bird?.Log() ?? "").Split('\n').TakeLast(40))}";

    /// <summary>Namespaces, links, BIRD, the node with both pods and their servers, both gateways (API up).</summary>
    private void Build()
    {
        Requires.RootAnd("ip", "python3", "bird", "birdc");
        _router = _set.Add("r"); _vm = _set.Add("v");
        string sw = _set.Add("w"), node = _set.Add("n");
        Sh.Must("ip", "-n", sw, "link", "add", "br0", "type", "bridge");
        Sh.Must("ip", "-n", sw, "link", "set", "br0", "up");
        _set.Veth("tcl", _router, "eth0", _vm);
        Sh.Must("ip", "-n", _router, "addr", "add", "198.18.131.1/24", "dev", "tcl");
        NetnsSet.Must(_router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Sh.Must("ip", "-n", _vm, "addr", "add", $"{VmIp}/24", "dev", "eth0");
        NetnsSet.Up(_router, "tcl"); NetnsSet.Up(_vm, "eth0");
        Sh.Must("ip", "-n", _vm, "route", "add", "default", "via", "198.18.131.1");
        var names = new List<(string Op, string Ms)>();
        for (int i = 0; i < Gateways.Length; i++)
        {
            var g = Gateways[i];
            string ns = _set.Add($"g{i + 1}"), gop = $"gop{i + 1}{_set.Suffix}", gms = $"gms{i + 1}{_set.Suffix}";
            NetnsSet.KernelStaysOff(ns);
            _set.Veth(gop, ns, $"tgw{i + 1}", _router);
            _set.Veth(gms, ns, $"pg{i + 1}", sw);
            Sh.Must("ip", "-n", sw, "link", "set", $"pg{i + 1}", "master", "br0", "up");
            Sh.Must("ip", "-n", ns, "addr", "add", $"{g.OnPrem}/24", "dev", gop);   // the BGP session is the agent's kernel TCP
            Sh.Must("ip", "-n", _router, "addr", "add", $"{g.RouterIp}/24", "dev", $"tgw{i + 1}");
            NetnsSet.Up(ns, gop); NetnsSet.Up(ns, gms); NetnsSet.Up(_router, $"tgw{i + 1}");
            _gwNs.Add(ns);
            names.Add((gop, gms));
        }
        string shared = SharedManifests(names[0].Op, names[0].Ms, names[1].Op, names[1].Ms);
        for (int i = 0; i < Gateways.Length; i++)
        {
            string dir = _set.Dir($"g{i + 1}cfg");
            File.WriteAllText(Path.Combine(dir, "cluster.yaml"), shared);
            File.WriteAllText(Path.Combine(dir, "gateway.yaml"), GatewayYaml(i, names[i].Op, names[i].Ms, NetnsSet.Mac(_gwNs[i], names[i].Op), NetnsSet.Mac(_gwNs[i], names[i].Ms)));
            _gwConfig.Add(dir);
        }

        NetnsSet.KernelStaysOff(node);
        string nms = $"nm{_set.Suffix}";
        _set.Veth(nms, node, "pn", sw);
        Sh.Must("ip", "-n", sw, "link", "set", "pn", "master", "br0", "up");
        NetnsSet.Up(node, nms);
        var podNs = new List<string>();
        foreach (var p in Pods)
        {
            string pod = _set.Add(p.Name.Replace("web-", "p", StringComparison.Ordinal)), lxc = PodTopology.LxcName("default", p.Name);
            _set.Veth(lxc, node, "eth0", pod);
            Sh.Must("ip", "-n", pod, "link", "set", "eth0", "address", p.Mac);
            Sh.Must("ip", "-n", pod, "addr", "add", $"{p.Ip}/24", "dev", "eth0");
            NetnsSet.Up(node, lxc); NetnsSet.Up(pod, "eth0");
            Sh.Must("ip", "-n", pod, "route", "add", "default", "via", "198.18.150.1");
            podNs.Add(pod);
        }
        string nodeConfig = _set.Dir("ncfg");
        File.WriteAllText(Path.Combine(nodeConfig, "cluster.yaml"), shared);
        File.WriteAllText(Path.Combine(nodeConfig, "node.yaml"), $$"""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: node-1}
            spec:
              interfaces: [{name: {{nms}}, mac: "{{NetnsSet.Mac(node, nms)}}", addresses: ["198.18.141.2/24"]}]
              overlay: {mode: vxlan}
            """);
        _node = _set.Start(node, ["dotnet", NodeDll, "run", "--config", nodeConfig, "--backend", "af_packet", "--ct-max", "4096", "--ct-dir", "", .. PodTopology.AgentArgs(nodeConfig)]);
        for (int i = 0; i < Pods.Length; i++)
        {
            // Each backend answers with its name, so the client knows who served it.
            var server = _set.Start(podNs[i], Sh.Python, "-u", "-c", $$"""
                import socket
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('0.0.0.0', 8080)); s.listen(64); print('listening', flush=True)
                while True:
                    c, _ = s.accept(); c.settimeout(2)
                    try: c.recv(64); c.sendall(b'{{Pods[i].Name}}\n')
                    except OSError: pass
                    c.close()
                """);
            Assert.True(server.WaitFor("listening", TimeSpan.FromSeconds(30)), server.Output);
        }
        _bird = new BirdEcmpRouter(_set, _router, [.. Gateways.Select(g => (g.RouterIp, g.OnPrem))], 65001, HoldSeconds);
        for (int i = 0; i < Gateways.Length; i++) _gw[i] = StartGateway(i);
        Assert.True(_node.WaitFor("agent: API on unix:", StartTimeout), "node-1 did not start:\n" + _node.Output);
    }

    /// <summary>`dataplane-gateway run` for gateway <paramref name="i"/> (memory-only conntrack: a restart starts afresh); waits for its API.</summary>
    private Background StartGateway(int i)
    {
        string dir = _gwConfig[i], socket = PodTopology.SocketOf(dir);
        var gw = _set.Start(_gwNs[i], ["dotnet", GatewayDll, "run", "--config", dir, "--backend", "af_packet", "--ct-max", "4096", "--ct-dir", "", "--socket", socket]);
        Assert.True(gw.WaitFor("agent: API on unix:", StartTimeout), $"{Gateways[i].Name} did not start:\n{gw.Output}");
        return gw;
    }

    /// <summary>The cluster's manifests, the same in every host's directory: both gateways' Nodes and DataplaneGateways.</summary>
    private static string SharedManifests(string gop1, string gms1, string gop2, string gms2) => $$$"""
        {{{string.Join("\n---\n", Gateways.Select((g, i) => $$"""
            apiVersion: v1
            kind: Node
            metadata: {name: {{g.Name}}, labels: {dataplane.io/role: gateway} }
            status: {addresses: [{type: InternalIP, address: {{g.Mesh}}}]}
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneGateway
            metadata: {name: {{g.Name}}}
            spec:
              meshInterfaces: [{{(i == 0 ? gms1 : gms2)}}]
              onPremInterfaces: [{{(i == 0 ? gop1 : gop2)}}]
              onPremPrefixes: ["198.18.131.0/24"]
            """))}}}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-1}
        spec: {podCIDRs: ["198.18.150.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.141.2}]}
        {{{string.Concat(Pods.Select(p => $$"""

            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: {{p.Name}}, namespace: default, labels: {app: web}, annotations: {dataplane.io/mac: "{{p.Mac}}"} }
            spec: {nodeName: node-1}
            status: {podIPs: [{ip: {{p.Ip}}}]}
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
        apiVersion: cilium.io/v2
        kind: CiliumLoadBalancerIPPool
        metadata: {name: portal}
        spec:
          blocks: [{cidr: 198.18.160.0/28}]
        """;

    /// <summary>Gateway <paramref name="i"/>'s own file: its DataplaneNode and its BGP session toward the router.</summary>
    private static string GatewayYaml(int i, string gop, string gms, string gopMac, string gmsMac) => $$$"""
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: {{{Gateways[i].Name}}}}
        spec:
          interfaces:
          - {name: {{{gop}}}, mac: "{{{gopMac}}}", addresses: ["{{{Gateways[i].OnPrem}}}/24"]}
          - {name: {{{gms}}}, mac: "{{{gmsMac}}}", addresses: ["{{{Gateways[i].Mesh}}}/24"]}
          overlay: {mode: vxlan}
        ---
        {{{OnPremBgpYaml.For(Gateways[i].RouterIp, announceWebVips: true, HoldSeconds)}}}
        """;

    public void Dispose()
    {
        _bird?.Dispose();
        _set.Dispose();
    }
}
