using System.Text;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Services and masquerade with real TCP through `dataplane-node run` (AF_PACKET): a client pod and two backend
/// pods (python3 http.server) in their own namespaces, plus an "outside" namespace behind a node interface.
/// The client fetches from the ClusterIP many times: both backends serve it, and every connection completes,
/// so every reply reached the client from the VIP (a reply from a backend's own address would be reset by the
/// client's kernel); the client's socket peer is the VIP. A connection from the client to the outside server is
/// masqueraded: the server sees the node's address as the source. Addresses only from 198.18.100–102.0/24.
/// </summary>
public sealed class ServiceNetnsTests(ITestOutputHelper output) : IDisposable
{
    private const string Vip = "198.18.102.10", NodeIp = "198.18.101.1", OutsideIp = "198.18.101.2";
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    private readonly NetnsSet _set = new();
    private string _suffix => _set.Suffix;
    private string Dp => $"dpt-sd-{_suffix}";
    private string Outside => $"dpt-so-{_suffix}";
    private string ConfigDir => Path.Combine(Path.GetTempPath(), $"dpt-svc-{_suffix}");

    private sealed record Pod(string Name, string Ip, string Mac, string Labels);

    private static readonly Pod[] Pods =
    [
        new("client", "198.18.100.10", "02:00:00:00:c2:01", "{app: client}"),
        new("be1", "198.18.100.21", "02:00:00:00:c2:21", "{app: web}"),
        new("be2", "198.18.100.22", "02:00:00:00:c2:22", "{app: web}"),
    ];

    private string NsOf(Pod p) => $"dpt-s{p.Name}-{_suffix}";

    [SkippableFact]
    public void ClusterIpReachesBothBackendsFromTheVipAndMasqueradeShowsTheNodeAddress()
    {
        Requires.RootAnd("ip", "python3");
        Build();
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        var fwd = Start(Dp, ["dotnet", dll, "run", "--config", ConfigDir, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(ConfigDir)]);
        Assert.True(fwd.WaitFor("run: forwarding on 4 port(s)", TimeSpan.FromSeconds(60)), "forwarder did not start:\n" + fwd.Output);

        foreach (var be in Pods.Skip(1))
        {
            string dir = Path.Combine(ConfigDir, be.Name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "who"), be.Name);
            var srv = Start(NsOf(be), "python3", "-u", "-m", "http.server", "8080", "--bind", be.Ip, "--directory", dir);
            Assert.True(srv.WaitFor("Serving HTTP", Short), srv.Output);
        }

        // 40 fetches, each a new connection from a new source port; report who answered and the socket's peer.
        const string fetch = """
            import socket, sys, collections
            seen = collections.Counter(); peers = set()
            for i in range(40):
                s = socket.create_connection((sys.argv[1], 80), timeout=5)
                peers.add(s.getpeername()[0])
                s.sendall(b'GET /who HTTP/1.0\r\nHost: web\r\n\r\n')
                data = b''
                while True:
                    d = s.recv(4096)
                    if not d: break
                    data += d
                s.close()
                seen[data.split(b'\r\n\r\n', 1)[1].decode()] += 1
            print('peers', sorted(peers), 'served', dict(seen), flush=True)
            """;
        var client = NsOf(Pods[0]);
        var res = Sh.Run(TimeSpan.FromSeconds(90), "ip", "netns", "exec", client, "python3", "-c", fetch, Vip);
        output.WriteLine(res.Output);
        Assert.True(res.Ok, $"fetches through the ClusterIP failed: {res.Output}\n{fwd.Output}");
        Assert.Contains($"peers ['{Vip}']", res.Output);
        Assert.Matches(@"'be1': [1-9]", res.Output);
        Assert.Matches(@"'be2': [1-9]", res.Output);

        // Masquerade: the outside server prints the source address it sees.
        const string peerServer = """
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('0.0.0.0', 9000)); s.listen(4); s.settimeout(30)
            print('listening', flush=True)
            c, a = s.accept(); print('peer', a[0], flush=True); c.sendall(b'hello'); c.close()
            """;
        var outside = Start(Outside, "python3", "-u", "-c", peerServer);
        Assert.True(outside.WaitFor("listening", Short), outside.Output);
        var conn = Sh.Run(TimeSpan.FromSeconds(30), "ip", "netns", "exec", client, "python3", "-c",
            $"import socket; s = socket.create_connection(('{OutsideIp}', 9000), timeout=5); print('got', s.recv(10).decode())");
        Assert.True(conn.Ok && conn.Output.Contains("got hello"), $"masqueraded connection failed: {conn.Output}\n{fwd.Output}");
        Assert.True(outside.WaitFor($"peer {NodeIp}", Short), "outside server saw: " + outside.Output);

        Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), "forwarder did not stop:\n" + fwd.Output);
        output.WriteLine(fwd.Output);
    }

    private static string LxcName(string name) => PodTopology.LxcName("default", name);

    private void AddNs(string ns) => _set.AddNamed(ns);

    private static void Offloads(string ns, string dev) => NetnsSet.Up(ns, dev);

    private void Build()
    {
        AddNs(Dp);
        NetnsSet.KernelStaysOff(Dp);
        var yaml = new StringBuilder();
        foreach (var pod in Pods)
        {
            string ns = NsOf(pod), lxc = LxcName(pod.Name);
            AddNs(ns);
            _set.Veth(lxc, Dp, "eth0", ns);
            Sh.Must("ip", "-n", ns, "link", "set", "eth0", "address", pod.Mac);
            Sh.Must("ip", "-n", ns, "addr", "add", $"{pod.Ip}/24", "dev", "eth0");
            Offloads(ns, "eth0");
            Offloads(Dp, lxc);
            // Every neighbour a pod asks for is answered by the dataplane's ARP responder with the router MAC.
            Sh.Must("ip", "-n", ns, "route", "add", "default", "via", "198.18.100.1", "dev", "eth0");
            yaml.Append($"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {pod.Name}\n  namespace: default\n  labels: {pod.Labels}\n" +
                        $"  annotations: {{dataplane.io/mac: \"{pod.Mac}\"}}\nspec: {{nodeName: dp}}\nstatus: {{podIPs: [{{ip: {pod.Ip}}}]}}\n");
        }
        AddNs(Outside);
        string up = $"dpo{_suffix}";
        _set.Veth(up, Dp, "eth0", Outside);
        Sh.Must("ip", "-n", Outside, "addr", "add", $"{OutsideIp}/24", "dev", "eth0");
        Offloads(Outside, "eth0");
        Offloads(Dp, up);
        // No neighbour for the outside host: the dataplane resolves it by ARP.
        string upMac = NetnsSet.Mac(Dp, up);

        _set.Dir("svc");
        File.WriteAllText(Path.Combine(ConfigDir, "cluster.yaml"), $$$"""
            apiVersion: v1
            kind: Node
            metadata: {name: dp}
            spec: {podCIDRs: ["198.18.100.0/24"]}
            status: {addresses: [{type: InternalIP, address: {{{NodeIp}}}}]}
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: dp}
            spec:
              routerMac: "02:00:00:00:00:99"
              interfaces: [{name: {{{up}}}, mac: "{{{upMac}}}", addresses: ["{{{NodeIp}}}/24"]}]
              masquerade: {enabled: true}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec: {clusterIP: {{{Vip}}}, ports: [{name: http, port: 80, targetPort: 8080}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
            addressType: IPv4
            ports: [{name: http, port: 8080, protocol: TCP}]
            endpoints:
            - {addresses: [198.18.100.21], nodeName: dp, conditions: {ready: true}}
            - {addresses: [198.18.100.22], nodeName: dp, conditions: {ready: true}}

            """ + yaml);
    }

    private Background Start(string ns, params string[] cmd) => _set.Start(ns, cmd);

    public void Dispose() => _set.Dispose();
}
