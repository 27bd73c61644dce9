using System.Net;
using System.Net.Sockets;
using Dataplane.Bgp.Session;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// BGP in the agent against a real top-of-rack router: BIRD in a namespace peers with `dataplane-node run`
/// (AF_PACKET), a client and a server namespace sit behind BIRD. The agent's config is Cilium's: a
/// CiliumBGPClusterConfig selecting the node, a CiliumBGPPeerConfig with TCP MD5 from a Secret, a
/// CiliumBGPAdvertisement of the pod CIDR and LoadBalancer IPs, a CiliumLoadBalancerIPPool that gives the service
/// its VIP. Checked: BIRD has our pod CIDR and VIP; the client reaches the VIP over TCP; the pod reaches the server
/// through a route the node learned only by BGP; an externalTrafficPolicy: Local VIP is announced only once the
/// node has a ready local backend; BIRD killed → the learned route leaves our status and traffic to the server
/// stops; BIRD back → routes back; SIGTERM → BIRD sees our routes withdrawn before the session closes.
/// Addresses: pods 198.18.100.0/24, node–ToR 198.18.110.0/24, client 198.18.111.0/24, server 198.18.112.0/24,
/// VIPs 198.18.120.0/28, cluster IPs 198.18.121.0/24. No static neighbour: the ToR's MAC is resolved by ARP.
/// </summary>
public sealed class BgpAgentNetnsTests(ITestOutputHelper output) : IDisposable
{
    private const string NodeIp = "198.18.110.1", TorIp = "198.18.110.2", ClientIp = "198.18.111.2", ServerIp = "198.18.112.2";
    private const string PodIp = "198.18.100.10", PodMac = "02:00:00:00:c3:10", Password = "tor-s3cret";
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    private readonly NetnsSet _set = new("dpb");
    private BirdTor? _bird;

    [SkippableFact]
    public async Task LoadBalancerVipAndLearnedRoutesThroughBird()
    {
        Requires.RootAnd("ip", "python3", "bird", "birdc");
        string? password = TcpMd5.IsSupported(out var why) ? Password : null;
        if (password is null) output.WriteLine($"TCP MD5 not used: {why}");
        var (dp, tor, client, server, pod, config) = Build(password);
        _bird = new BirdTor(_set, tor, TorIp, NodeIp, 65001, password);

        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        var agent = _set.Start(dp, ["dotnet", dll, "run", "--config", config, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(config)]);
        Assert.True(agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
        string socket = PodTopology.SocketOf(config);
        string Context() => $"agent:\n{agent.Output}\nbird:\n{_bird.Log()}";

        // LB-IPAM gave the service an address from the pool; BIRD learns it and the pod CIDR from us.
        var status = AgentApi.Status(socket);
        var vip = Assert.Single(status.LoadBalancerIps!.Allocated, a => a.Service == "default/web").Ip;
        Assert.True(IPNetwork.Parse("198.18.120.0/28").Contains(IPAddress.Parse(vip)), vip);
        await Eventually.True(() => _bird.RoutesFromNode().Contains($"{vip}/32") && _bird.RoutesFromNode().Contains("198.18.100.0/24"),
            "BIRD learns the pod CIDR and the VIP\n" + Context(), 60);
        output.WriteLine(_bird.Birdc("show", "route", "all", "protocol", "node").Stdout);
        var localVip = Assert.Single(AgentApi.Status(socket).LoadBalancerIps!.Allocated, a => a.Service == "default/local-web").Ip;
        Assert.DoesNotContain($"{localVip}/32", _bird.RoutesFromNode());   // eTP Local, no ready local backend yet

        // Our status: the session, what was received, the learned routes with their next hop.
        await Eventually.True(() => AgentApi.Status(socket).Bgp!.LearnedRoutes.Any(r => r.Prefix == "198.18.112.0/24"), "server subnet learned\n" + Context());
        var bgp = AgentApi.Status(socket).Bgp!;
        var peer = Assert.Single(Assert.Single(bgp.Instances).Peers);
        Assert.Equal(("Established", TorIp, password is not null), (peer.State, peer.Address, peer.TcpMd5));
        Assert.True(peer.PrefixesReceived >= 2 && peer.PrefixesAdvertised >= 2, $"received {peer.PrefixesReceived}, advertised {peer.PrefixesAdvertised}");
        Assert.Equal([TorIp], bgp.LearnedRoutes.Single(r => r.Prefix == "198.18.112.0/24").NextHops);
        // The same as a user reads it: `dataplane-node status`.
        var verb = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", dll, "status", "--socket", socket);
        output.WriteLine(verb.Output);
        Assert.True(verb.Ok, verb.Output);
        Assert.Matches($@"peer {TorIp.Replace(".", @"\.")} +AS 65100 +Established +received [1-9]", verb.Output);
        Assert.Contains("route 198.18.112.0/24 via " + TorIp, verb.Output);
        Assert.Contains($"default/web {vip} (pool vips)", verb.Output);

        // The client behind BIRD reaches the VIP (TCP); the pod reaches the server through the learned route.
        var fetch = Sh.Run(TimeSpan.FromSeconds(30), "ip", "netns", "exec", client, "python3", "-c",
            "import urllib.request,sys; print('got', urllib.request.urlopen('http://'+sys.argv[1]+'/who', timeout=5).read().decode())", vip);
        Assert.True(fetch.Ok && fetch.Output.Contains("got web"), $"client → VIP failed: {fetch.Output}\n{Context()}");
        var echo = _set.Start(server, "python3", "-u", PodTopology.Echo, "tcp-server", "9000");
        Assert.True(echo.WaitFor("listening", Short), echo.Output);
        Assert.Contains("echoed 1000", PodToServer(pod).Output);

        // externalTrafficPolicy: Local — announced once this node has a ready backend.
        File.WriteAllText(Path.Combine(config, "slice-local.yaml"), Slice("local-web", ready: true));
        await Eventually.True(() => _bird.RoutesFromNode().Contains($"{localVip}/32"), "eTP=Local VIP announced with a ready local backend\n" + Context());

        // Session lost (BIRD killed, no NOTIFICATION): the learned routes leave status and forwarding.
        _bird.Kill();
        await Eventually.True(() => AgentApi.Status(socket).Bgp!.LearnedRoutes.Count == 0, "learned routes gone after the session dropped\n" + Context());
        var lost = PodToServer(pod);
        Assert.False(lost.Output.Contains("echoed"), "the server stayed reachable without the route: " + lost.Output);
        Assert.Contains(AgentApi.Status(socket).DropsByReason.Keys, k => k.Contains("(169)"));   // FIB lookup failed, counted

        // BIRD back: the session and the routes come back.
        _bird.Start(_set);
        await Eventually.True(() => _bird.Established() && _bird.RoutesFromNode().Contains($"{vip}/32"), "session back\n" + Context(), 60);
        await Eventually.True(() => AgentApi.Status(socket).Bgp!.LearnedRoutes.Any(r => r.Prefix == "198.18.112.0/24"), "route back\n" + Context());

        // SIGTERM: our routes are withdrawn (BIRD logs their removal) before the session closes and the agent exits.
        int logMark = _bird.Log().Length;
        Assert.True(agent.Stop(TimeSpan.FromSeconds(30)), "agent did not stop:\n" + agent.Output);
        output.WriteLine(agent.Output);
        Assert.Matches(@"withdrew [1-9]\d* route\(s\) from 1 established peer", agent.Output);
        Assert.True(agent.Output.IndexOf("withdrew", StringComparison.Ordinal) < agent.Output.IndexOf("exit", agent.Output.IndexOf("withdrew", StringComparison.Ordinal), StringComparison.Ordinal));
        await Eventually.True(() => !_bird.RoutesFromNode().Contains("198.18.100.0/24"), "BIRD dropped our routes\n" + _bird.Log());
        var tail = _bird.Log()[logMark..];
        output.WriteLine(tail);
        int removed = tail.IndexOf("198.18.100.0/24", StringComparison.Ordinal), down = tail.IndexOf("State changed to stop", StringComparison.Ordinal);
        Assert.True(removed >= 0 && (down < 0 || removed < down), "BIRD saw the withdrawal before the session went down:\n" + tail);
    }

    private Sh.Result PodToServer(string pod) =>
        Sh.Run(TimeSpan.FromSeconds(30), "ip", "netns", "exec", pod, "python3", PodTopology.Echo, "tcp-client", ServerIp, "9000", "1000");

    private (string Dp, string Tor, string Client, string Server, string Pod, string Config) Build(string? password)
    {
        string dp = _set.Add("d"), tor = _set.Add("t"), client = _set.Add("c"), server = _set.Add("s"), pod = _set.Add("p");
        NetnsSet.KernelStaysOff(dp);
        string up = $"dpu{_set.Suffix}", lxc = PodTopology.LxcName("default", "web");
        _set.Veth(up, dp, "tdp", tor);
        _set.Veth("tcl", tor, "eth0", client);
        _set.Veth("tsv", tor, "eth0", server);
        _set.Veth(lxc, dp, "eth0", pod);
        // The node's address is the kernel's too: the BGP session is the agent's own TCP connection.
        Sh.Must("ip", "-n", dp, "addr", "add", $"{NodeIp}/24", "dev", up);
        Sh.Must("ip", "-n", tor, "addr", "add", $"{TorIp}/24", "dev", "tdp");
        Sh.Must("ip", "-n", tor, "addr", "add", "198.18.111.1/24", "dev", "tcl");
        Sh.Must("ip", "-n", tor, "addr", "add", "198.18.112.1/24", "dev", "tsv");
        NetnsSet.Must(tor, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Sh.Must("ip", "-n", client, "addr", "add", $"{ClientIp}/24", "dev", "eth0");
        Sh.Must("ip", "-n", server, "addr", "add", $"{ServerIp}/24", "dev", "eth0");
        Sh.Must("ip", "-n", pod, "link", "set", "eth0", "address", PodMac);
        Sh.Must("ip", "-n", pod, "addr", "add", $"{PodIp}/24", "dev", "eth0");
        foreach (var (ns, dev) in new[] { (dp, up), (tor, "tdp"), (tor, "tcl"), (tor, "tsv"), (client, "eth0"), (server, "eth0"), (pod, "eth0"), (dp, lxc) })
            NetnsSet.Up(ns, dev);
        Sh.Must("ip", "-n", client, "route", "add", "default", "via", "198.18.111.1");
        Sh.Must("ip", "-n", server, "route", "add", "default", "via", "198.18.112.1");
        Sh.Must("ip", "-n", pod, "route", "add", "default", "via", "198.18.100.1");

        string www = _set.Dir("www");
        File.WriteAllText(Path.Combine(www, "who"), "web");
        var http = _set.Start(pod, "python3", "-u", "-m", "http.server", "8080", "--bind", PodIp, "--directory", www);
        Assert.True(http.WaitFor("Serving HTTP", Short), http.Output);

        string config = _set.Dir("cfg");
        File.WriteAllText(Path.Combine(config, "node.yaml"), NodeYaml(up, NetnsSet.Mac(dp, up)));
        File.WriteAllText(Path.Combine(config, "bgp.yaml"), BgpYaml(password));
        File.WriteAllText(Path.Combine(config, "slice-local.yaml"), Slice("local-web", ready: false));
        return (dp, tor, client, server, pod, config);
    }

    private static string NodeYaml(string up, string upMac) => $$$"""
        apiVersion: v1
        kind: Node
        metadata: {name: dp, labels: {rack: r1}}
        spec: {podCIDRs: ["198.18.100.0/24"]}
        status: {addresses: [{type: InternalIP, address: {{{NodeIp}}}}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: dp}
        spec:
          routerMac: "02:00:00:00:00:99"
          interfaces: [{name: {{{up}}}, mac: "{{{upMac}}}", addresses: ["{{{NodeIp}}}/24"]}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: default, labels: {app: web}, annotations: {dataplane.io/mac: "{{{PodMac}}}"}}
        spec: {nodeName: dp}
        status: {podIPs: [{ip: {{{PodIp}}}}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: default, labels: {expose: bgp}}
        spec: {type: LoadBalancer, clusterIP: 198.18.121.10, ports: [{port: 80, targetPort: 8080, protocol: TCP}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
        addressType: IPv4
        endpoints: [{addresses: [{{{PodIp}}}], nodeName: dp, conditions: {ready: true}}]
        ports: [{port: 8080, protocol: TCP}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: local-web, namespace: default, labels: {expose: bgp}}
        spec: {type: LoadBalancer, externalTrafficPolicy: Local, clusterIP: 198.18.121.11, ports: [{port: 80, targetPort: 8080, protocol: TCP}]}
        """;

    private static string Slice(string service, bool ready) => $$$"""
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: {{{service}}}-1, namespace: default, labels: {kubernetes.io/service-name: {{{service}}}}}
        addressType: IPv4
        endpoints: [{addresses: [{{{PodIp}}}], nodeName: dp, conditions: {ready: {{{(ready ? "true" : "false")}}}}}]
        ports: [{port: 8080, protocol: TCP}]
        """;

    private static string BgpYaml(string? password) => $$$"""
        apiVersion: cilium.io/v2
        kind: CiliumBGPClusterConfig
        metadata: {name: rack}
        spec:
          nodeSelector: {matchLabels: {rack: r1}}
          bgpInstances:
          - name: tor
            localASN: 65001
            peers:
            - {name: tor-1, peerAddress: {{{TorIp}}}, peerASN: {{{BirdTor.As}}}, peerConfigRef: {name: tor}}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPPeerConfig
        metadata: {name: tor}
        spec:
          timers: {holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1}
          {{{(password is null ? "" : "authSecretRef: tor-md5")}}}
          families:
          - afi: ipv4
            safi: unicast
            advertisements: {matchLabels: {advertise: bgp} }
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: tor-md5, namespace: kube-system}
        stringData: {password: "{{{Password}}}"}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPAdvertisement
        metadata: {name: node-routes, labels: {advertise: bgp}}
        spec:
          advertisements:
          - advertisementType: PodCIDR
          - advertisementType: Service
            service: {addresses: [LoadBalancerIP]}
            selector: {matchLabels: {expose: bgp}}
            attributes: {communities: {standard: ["65001:120"], wellKnown: [no-export]}}
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumLoadBalancerIPPool
        metadata: {name: vips}
        spec:
          blocks: [{cidr: 198.18.120.0/28}]
        """;

    public void Dispose()
    {
        _bird?.Dispose();
        _set.Dispose();
    }
}
