using System.Net;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// ECMP across BGP peers through `dataplane-node run` (AF_PACKET): two BIRD routers on the node's uplink segment
/// (a bridge) both announce 198.18.130.1/32, and each serves that address itself, answering with its own name.
/// The node installs one route with both routers as next hops (resolved by ARP); connections from a pod are
/// spread over the two by flow hash. When one router's session is lost, the route keeps only the other, and
/// every connection goes there. Addresses: pods 198.18.100.0/24, uplink segment 198.18.140.0/24.
/// </summary>
public sealed class BgpEcmpNetnsTests(ITestOutputHelper output) : IDisposable
{
    private const string NodeIp = "198.18.140.1", PodIp = "198.18.100.10", PodMac = "02:00:00:00:c4:10", Anycast = "198.18.130.1";
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);
    private static readonly string[] Routers = ["198.18.140.2", "198.18.140.3"];

    private readonly NetnsSet _set = new("dpe");
    private readonly List<BirdTor> _birds = [];

    [SkippableFact]
    public async Task PodConnectionsSpreadOverBothPeersAndMoveWhenOneIsLost()
    {
        Requires.RootAnd("ip", "python3", "bird", "birdc");
        string dp = _set.Add("d"), sw = _set.Add("w"), pod = _set.Add("p");
        NetnsSet.KernelStaysOff(dp);
        Sh.Must("ip", "-n", sw, "link", "add", "br0", "type", "bridge");
        Sh.Must("ip", "-n", sw, "link", "set", "br0", "up");
        string up = $"dpu{_set.Suffix}", lxc = PodTopology.LxcName("default", "web");
        _set.Veth(up, dp, "pd", sw);
        Sh.Must("ip", "-n", sw, "link", "set", "pd", "master", "br0", "up");
        Sh.Must("ip", "-n", dp, "addr", "add", $"{NodeIp}/24", "dev", up);
        NetnsSet.Up(dp, up);
        _set.Veth(lxc, dp, "eth0", pod);
        Sh.Must("ip", "-n", pod, "link", "set", "eth0", "address", PodMac);
        Sh.Must("ip", "-n", pod, "addr", "add", $"{PodIp}/24", "dev", "eth0");
        NetnsSet.Up(pod, "eth0");
        NetnsSet.Up(dp, lxc);
        Sh.Must("ip", "-n", pod, "route", "add", "default", "via", "198.18.100.1");

        for (int i = 0; i < Routers.Length; i++)
        {
            string name = $"tor{i}", ns = _set.Add(name);
            _set.Veth("eth0", ns, $"p{i}", sw);
            Sh.Must("ip", "-n", sw, "link", "set", $"p{i}", "master", "br0", "up");
            Sh.Must("ip", "-n", ns, "addr", "add", $"{Routers[i]}/24", "dev", "eth0");
            Sh.Must("ip", "-n", ns, "addr", "add", $"{Anycast}/32", "dev", "lo");
            NetnsSet.Up(ns, "eth0");
            _birds.Add(new BirdTor(_set, ns, Routers[i], NodeIp, 65001, null, role: name, announce: $"route {Anycast}/32 via \"lo\";"));
            var srv = _set.Start(ns, "python3", "-u", "-c", $$"""
                import socket
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('{{Anycast}}', 9000)); s.listen(64); s.settimeout(120)
                print('listening', flush=True)
                while True:
                    c, _ = s.accept(); c.sendall(b'{{name}}'); c.close()
                """);
            Assert.True(srv.WaitFor("listening", Short), srv.Output);
        }

        string config = _set.Dir("cfg");
        File.WriteAllText(Path.Combine(config, "node.yaml"), Config(up, NetnsSet.Mac(dp, up)));
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        var agent = _set.Start(dp, ["dotnet", dll, "run", "--config", config, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(config)]);
        Assert.True(agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
        string socket = PodTopology.SocketOf(config);

        await Eventually.True(() => AgentApi.Status(socket).Bgp!.LearnedRoutes.Any(r => r.Prefix == $"{Anycast}/32" && r.NextHops.Count == 2),
            "one route over both routers\n" + agent.Output, 60);
        await Eventually.True(() => _birds.All(b => b.RoutesFromNode().Contains("198.18.100.0/24")), "both routers learn the pod CIDR\n" + agent.Output, 60);

        var seen = Connect(pod);
        output.WriteLine(seen.Output);
        Assert.True(seen.Ok, seen.Output + "\n" + agent.Output);
        Assert.Matches(@"'tor0': [1-9]", seen.Output);
        Assert.Matches(@"'tor1': [1-9]", seen.Output);

        // tor0's session lost: the route keeps tor1 only, every connection goes there.
        _birds[0].Kill();
        await Eventually.True(() => AgentApi.Status(socket).Bgp!.LearnedRoutes.Any(r => r.Prefix == $"{Anycast}/32" && r.NextHops.SequenceEqual([Routers[1]])),
            "route over tor1 only\n" + agent.Output);
        var after = Connect(pod);
        output.WriteLine(after.Output);
        Assert.True(after.Ok, after.Output + "\n" + agent.Output);
        Assert.DoesNotContain("tor0", after.Output);
        Assert.Matches(@"'tor1': 24", after.Output);
        Assert.True(agent.Stop(TimeSpan.FromSeconds(30)), "agent did not stop:\n" + agent.Output);
    }

    /// <summary>24 connections from the pod (each a new source port), counted by who answered.</summary>
    private Sh.Result Connect(string pod) => Sh.Run(TimeSpan.FromSeconds(90), "ip", "netns", "exec", pod, "python3", "-c", $$"""
        import socket, collections
        seen = collections.Counter()
        for i in range(24):
            s = socket.create_connection(('{{Anycast}}', 9000), timeout=5)
            seen[s.recv(16).decode()] += 1
            s.close()
        print('served', dict(seen), flush=True)
        """);

    private static string Config(string up, string upMac) => $$$"""
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
        apiVersion: cilium.io/v2
        kind: CiliumBGPClusterConfig
        metadata: {name: rack}
        spec:
          bgpInstances:
          - name: tors
            localASN: 65001
            peers:
            - {name: tor0, peerAddress: {{{Routers[0]}}}, peerASN: {{{BirdTor.As}}}, peerConfigRef: {name: tor}}
            - {name: tor1, peerAddress: {{{Routers[1]}}}, peerASN: {{{BirdTor.As}}}, peerConfigRef: {name: tor}}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPPeerConfig
        metadata: {name: tor}
        spec:
          timers: {holdTimeSeconds: 9, keepAliveTimeSeconds: 3, connectRetryTimeSeconds: 1}
          families:
          - afi: ipv4
            safi: unicast
            advertisements: {matchLabels: {advertise: bgp} }
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPAdvertisement
        metadata: {name: pods, labels: {advertise: bgp}}
        spec:
          advertisements: [{advertisementType: PodCIDR}]
        """;

    public void Dispose()
    {
        foreach (var b in _birds) b.Dispose();
        _set.Dispose();
    }
}
