using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// A gateway in the encrypted mesh: `dataplane-gateway run` with <c>spec.encryption</c> on joins an on-prem VM (behind
/// a plain Linux router) to a pod on an encrypted `dataplane-node`. The keys are made by wireguard-tools (`wg genkey`)
/// and put where each agent keeps its own (mode 0600 in its --state-dir), the public halves on the Nodes as Cilium
/// publishes them (<c>network.cilium.io/wg-pub-key</c>). VM → pod over TCP and pod → VM by ping, while tcpdump on
/// the mesh link sees only UDP 51871 between the two hosts' addresses and neither the VM's nor the pod's address in
/// any byte; each side's status lists the other as a peer with a handshake and bytes both ways. The gateway's metrics
/// endpoint has the same: peers, bytes per peer and direction, handshakes, and a forged transport message (an unknown
/// receiver index, sent from the on-prem router) counted as a drop by reason.
/// Addresses: pod 198.18.150.0/24, VM subnet 198.18.131.0/24, gateway–router 198.18.140.0/24, mesh 198.18.141.0/24.
/// </summary>
public sealed class EncryptedGatewayNetnsTests(ITestOutputHelper output) : IDisposable
{
    private const string GwOnPrem = "198.18.140.1", RouterIp = "198.18.140.2", GwMesh = "198.18.141.1", NodeMesh = "198.18.141.2";
    private const string VmIp = "198.18.131.10", PodIp = "198.18.150.10", PodMac = "02:00:00:00:c7:10";
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    private readonly NetnsSet _set = new("dwg");

    private static string GatewayDll => Path.Combine(AppContext.BaseDirectory, "dataplane-gateway.dll");
    private static string NodeDll => Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");

    [SkippableFact]
    public void VmBehindTheGatewayReachesAPodOnlyThroughWireGuard()
    {
        Requires.RootAnd("ip", "ping", "python3", "tcpdump", "wg");
        var t = Build();
        var node = _set.Start(t.Node, ["dotnet", NodeDll, "run", "--config", t.NodeConfig, "--backend", "af_packet", "--ct-max", "4096", .. PodTopology.AgentArgs(t.NodeConfig)]);
        const int MetricsPort = 9962;   // Cilium's agent port, on the gateway namespace's own loopback
        var gw = _set.Start(t.Gateway, ["dotnet", GatewayDll, "run", "--config", t.GatewayConfig, "--backend", "af_packet", "--ct-max", "4096",
            "--metrics-port", MetricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), .. PodTopology.AgentArgs(t.GatewayConfig)]);
        string gwSocket = PodTopology.SocketOf(t.GatewayConfig), nodeSocket = PodTopology.SocketOf(t.NodeConfig);
        string Context() => $"gateway:\n{gw.Output}\n{Encryption(gwSocket)}\nnode:\n{node.Output}\n{Encryption(nodeSocket)}";
        Assert.True(node.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "node did not start:\n" + node.Output);
        Assert.True(gw.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "gateway did not start:\n" + gw.Output);
        // Each uses the key it was given (not one of its own making).
        Assert.Contains($"public key {t.GatewayKey}", gw.Output);
        Assert.Contains($"public key {t.NodeKey}", node.Output);

        string capture = Path.Combine(t.GatewayConfig, "mesh.pcap");
        var dump = _set.Start(t.Gateway, "tcpdump", "-i", t.MeshIf, "-n", "--immediate-mode", "-U", "-w", capture);
        try
        {
            Assert.True(dump.WaitFor("listening on", Short), dump.Output);
            var server = _set.Start(t.Pod, "python3", "-u", PodTopology.Echo, "tcp-server", "8080");
            Assert.True(server.WaitFor("listening", Short), server.Output);
            var vmToPod = _set.Exec(t.Vm, TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", PodIp, "8080", "200000");
            Assert.True(vmToPod.Ok && vmToPod.Output.Contains("echoed 200000"), $"VM → pod failed: {vmToPod.Output}\n{Context()}");
            var ping = _set.Exec(t.Pod, Short, "ping", "-c", "5", "-i", "0.2", "-W", "2", VmIp);
            Assert.True(ping.Ok && ping.Output.Contains(" 0% packet loss"), $"pod → VM: {ping.Output}\n{Context()}");
            // A forged transport message to the gateway's WireGuard port: type 4, a receiver index it never gave out.
            _set.Exec(t.Router, Short, "python3", "-c",
                $"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(bytes([4, 0, 0, 0]) + bytes([0x5a]) * 44, ('{GwOnPrem}', 51871))");
            Thread.Sleep(500);
            dump.Signal(Sh.SIGTERM);
            Assert.True(dump.WaitForExit(Short), dump.Output);
        }
        finally
        {
            if (!dump.HasExited) dump.Signal(Sh.SIGTERM);
        }

        // The mesh link carries WireGuard only (ARP aside): UDP 51871 between the gateway's and the node's addresses.
        var ip = Sh.Must("tcpdump", "-n", "-r", capture).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(" IP ")).ToList();
        Assert.True(ip.Count > 20, $"too few frames captured: {ip.Count}\n{dump.Output}");
        var other = ip.Where(l => !(l.Contains($"{GwMesh}.51871 > {NodeMesh}.51871: UDP") || l.Contains($"{NodeMesh}.51871 > {GwMesh}.51871: UDP"))).ToList();
        Assert.True(other.Count == 0, "frames other than WireGuard on the mesh link:\n" + string.Join('\n', other.Take(10)));
        var bytes = File.ReadAllBytes(capture);
        foreach (var inner in new[] { VmIp, PodIp })
            Assert.True(bytes.AsSpan().IndexOf(System.Net.IPAddress.Parse(inner).GetAddressBytes()) < 0, $"{inner} in clear on the mesh link");

        // Each side knows the other as a peer at its mesh address, with a handshake and bytes both ways.
        foreach (var (socket, peerNode, peerKey, endpoint) in new[] { (gwSocket, "node-1", t.NodeKey, NodeMesh), (nodeSocket, "gw-1", t.GatewayKey, GwMesh) })
        {
            var peer = Assert.Single(AgentApi.Status(socket).Encryption!.Peers);
            Assert.Equal(peerNode, peer.Node);
            Assert.Equal(peerKey, peer.PublicKey);
            Assert.Equal($"{endpoint}:51871", peer.Endpoint);
            Assert.NotNull(peer.LastHandshake);
            // The VM's 200 kB went gateway → node, the ACKs and echoes back.
            long toNode = peerNode == "node-1" ? peer.TxBytes : peer.RxBytes, toGateway = peerNode == "node-1" ? peer.RxBytes : peer.TxBytes;
            Assert.True(toNode > 200_000 && toGateway > 1_000, $"{peerNode}: rx {peer.RxBytes} tx {peer.TxBytes}");
        }

        // The same on the gateway's metrics endpoint (scraped as Prometheus would, in its namespace).
        string scrape = "";
        for (int i = 0; i < 50 && !scrape.Contains("dataplane_wireguard_drops_total{reason=\"unknown_index\"}"); i++)
        {
            if (i > 0) Thread.Sleep(200);
            var r = _set.Exec(t.Gateway, Short, "python3", "-c",
                $"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{MetricsPort}/metrics').read().decode())");
            scrape = r.Output;
        }
        output.WriteLine(string.Join('\n', scrape.Split('\n').Where(l => l.Contains("wireguard"))));
        Assert.Equal(1, Metric(scrape, "cilium_wireguard_peers_total"));
        Assert.True(Metric(scrape, "cilium_wireguard_transfer_bytes_total{target_node_name=\"node-1\",type=\"tx\"}") > 200_000, scrape);
        Assert.True(Metric(scrape, "cilium_wireguard_transfer_bytes_total{target_node_name=\"node-1\",type=\"rx\"}") > 1_000, scrape);
        Assert.True(Metric(scrape, "dataplane_wireguard_handshakes_total{event=\"completed\"}") >= 1, scrape);
        Assert.True(Metric(scrape, "dataplane_wireguard_last_handshake_seconds{target_node_name=\"node-1\"}") > 1.7e9, scrape);
        Assert.True(Metric(scrape, "dataplane_wireguard_drops_total{reason=\"unknown_index\"}") >= 1, scrape);
        output.WriteLine(Context());
    }

    /// <summary>The value of one sample (name with its labels, as exposed) in a Prometheus text scrape; NaN when absent.</summary>
    private static double Metric(string scrape, string sample)
    {
        foreach (var line in scrape.Split('\n'))
            if (line.StartsWith(sample + " ", StringComparison.Ordinal))
                return double.Parse(line[(sample.Length + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return double.NaN;
    }

    /// <summary>A running agent's encryption status, for a failure's context.</summary>
    private static string Encryption(string socket)
    {
        try { return System.Text.Json.JsonSerializer.Serialize(AgentApi.Status(socket).Encryption); }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException or TaskCanceledException)
        {
            return "status: " + e.Message;
        }
    }

    private sealed record Topology(string Gateway, string Router, string Vm, string Node, string Pod, string GatewayConfig, string NodeConfig, string MeshIf,
        string GatewayKey, string NodeKey);

    private Topology Build()
    {
        string gw = _set.Add("g"), router = _set.Add("r"), vm = _set.Add("v"), node = _set.Add("n"), pod = _set.Add("p");
        NetnsSet.KernelStaysOff(gw);
        NetnsSet.KernelStaysOff(node);
        string gop = $"gop{_set.Suffix}", gms = $"gms{_set.Suffix}", nms = $"nms{_set.Suffix}", lxc = PodTopology.LxcName("default", "web");
        _set.Veth(gop, gw, "tgw", router);
        _set.Veth("tcl", router, "eth0", vm);
        _set.Veth(gms, gw, nms, node);
        _set.Veth(lxc, node, "eth0", pod);
        // The on-prem router: a Linux namespace forwarding between the gateway's link and the VM's subnet.
        Sh.Must("ip", "-n", router, "addr", "add", $"{RouterIp}/24", "dev", "tgw");
        Sh.Must("ip", "-n", router, "addr", "add", "198.18.131.1/24", "dev", "tcl");
        NetnsSet.Must(router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
        Sh.Must("ip", "-n", vm, "addr", "add", $"{VmIp}/24", "dev", "eth0");
        Sh.Must("ip", "-n", pod, "link", "set", "eth0", "address", PodMac);
        Sh.Must("ip", "-n", pod, "addr", "add", $"{PodIp}/24", "dev", "eth0");
        foreach (var (ns, dev) in new[] { (gw, gop), (gw, gms), (router, "tgw"), (router, "tcl"), (vm, "eth0"), (node, nms), (node, lxc), (pod, "eth0") })
            NetnsSet.Up(ns, dev);
        Sh.Must("ip", "-n", vm, "route", "add", "default", "via", "198.18.131.1");
        Sh.Must("ip", "-n", router, "route", "add", "198.18.150.0/24", "via", GwOnPrem);
        Sh.Must("ip", "-n", pod, "route", "add", "default", "via", "198.18.150.1");

        string gwConfig = _set.Dir("gwcfg"), nodeConfig = _set.Dir("nodecfg");
        string gwKey = WriteKey(gwConfig), nodeKey = WriteKey(nodeConfig);
        foreach (var dir in new[] { gwConfig, nodeConfig })
            File.WriteAllText(Path.Combine(dir, "cluster.yaml"), SharedManifests(gwKey, nodeKey));
        File.WriteAllText(Path.Combine(gwConfig, "gateway.yaml"), $$$"""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: gw-1}
            spec:
              interfaces:
              - {name: {{{gop}}}, mac: "{{{NetnsSet.Mac(gw, gop)}}}", addresses: ["{{{GwOnPrem}}}/24"]}
              - {name: {{{gms}}}, mac: "{{{NetnsSet.Mac(gw, gms)}}}", addresses: ["{{{GwMesh}}}/24"]}
              routes: [{destination: 198.18.131.0/24, via: {{{RouterIp}}}}]
              overlay: {mode: vxlan}
              encryption: {enabled: true, type: wireguard}
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneGateway
            metadata: {name: gw-1}
            spec:
              meshInterfaces: [{{{gms}}}]
              onPremInterfaces: [{{{gop}}}]
              onPremPrefixes: ["198.18.131.0/24"]
            """);
        File.WriteAllText(Path.Combine(nodeConfig, "node.yaml"), $$$"""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: node-1}
            spec:
              interfaces: [{name: {{{nms}}}, mac: "{{{NetnsSet.Mac(node, nms)}}}", addresses: ["{{{NodeMesh}}}/24"]}]
              overlay: {mode: vxlan}
              encryption: {enabled: true, type: wireguard}
            """);
        return new Topology(gw, router, vm, node, pod, gwConfig, nodeConfig, gms, gwKey, nodeKey);
    }

    /// <summary>A private key from `wg genkey` into the agent's state directory (mode 0600); its public half from `wg pubkey`.</summary>
    private static string WriteKey(string configDir)
    {
        string state = Path.Combine(configDir, ".agent");
        Directory.CreateDirectory(state);
        string file = Path.Combine(state, "wireguard.key");
        string pub = Sh.Must("sh", "-c", $"umask 077 && wg genkey > '{file}' && wg pubkey < '{file}'").Trim();
        Assert.Equal(44, pub.Length);
        return pub;
    }

    private static string SharedManifests(string gwKey, string nodeKey) => $$$"""
        apiVersion: v1
        kind: Node
        metadata: {name: gw-1, labels: {dataplane.io/role: gateway}, annotations: {network.cilium.io/wg-pub-key: "{{{gwKey}}}"}}
        status: {addresses: [{type: InternalIP, address: {{{GwMesh}}}}]}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-1, annotations: {network.cilium.io/wg-pub-key: "{{{nodeKey}}}"}}
        spec: {podCIDRs: ["198.18.150.0/24"]}
        status: {addresses: [{type: InternalIP, address: {{{NodeMesh}}}}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: default, labels: {app: web}, annotations: {dataplane.io/mac: "{{{PodMac}}}"}}
        spec: {nodeName: node-1}
        status: {podIPs: [{ip: {{{PodIp}}}}]}
        ---
        {{{ClusterYaml.ExternalWorkload("default", "billing-vm", "app: billing", [VmIp], "gw-1")}}}
        """;

    public void Dispose() => _set.Dispose();
}
