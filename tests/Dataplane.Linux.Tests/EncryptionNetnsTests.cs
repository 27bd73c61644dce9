using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Transparent encryption between two of our nodes (Cilium's <c>encryption.type: wireguard</c>), meshed through
/// etcd (<see cref="MeshTopology"/>): each node makes its key in its state directory and publishes the public half
/// in its Cluster Mesh node entry, and learns the other's from there. Pods talk across the nodes while tcpdump on
/// the underlay sees only UDP 51871 and none of the pods' addresses in any byte; their flows are marked encrypted.
/// </summary>
public sealed class EncryptionNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private static string Echo => Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");
    private const string Wireguard = "{enabled: true, type: wireguard}";

    [SkippableFact]
    public async Task PodsTalkAcrossNodesAndTheUnderlayCarriesOnlyWireGuard()
    {
        Requires.RootAnd("ip", "ping", "python3", "etcd", "tcpdump");
        await using var topo = await Meshed(_ => Wireguard, flowFiles: true);
        string capture = Path.Combine(topo.Root, "underlay.pcap");
        // Immediate mode: libpcap's TPACKET_V3 blocks would otherwise hold frames tcpdump never writes before it is stopped.
        var dump = topo.Start(topo.NsA, "tcpdump", "-i", topo.UnderlayIf("node-a"), "-n", "--immediate-mode", "-U", "-w", capture);
        try
        {
            Assert.True(dump.WaitFor("listening on", Short), dump.Output);
            Ping(topo, "client-a", topo["web-b"].Ip);
            Ping(topo, "client-b", topo["web-a"].Ip);
            Ping(topo, "client-a", topo["web-a"].Ip);   // on one node: never through the tunnel
            var server = topo.Start(topo["web-b"].Ns, "python3", Echo, "tcp-server", "5001");
            Assert.True(server.WaitFor("listening", Short), server.Output);
            var tcp = topo.Exec(topo["client-a"].Ns, Short, "python3", Echo, "tcp-client", topo["web-b"].Ip, "5001", "1000000");
            Assert.True(tcp.Ok && tcp.Output.Contains("echoed 1000000"), tcp.Output);
            Thread.Sleep(1000);
            dump.Signal(Sh.SIGTERM);
            Assert.True(dump.WaitForExit(Short), dump.Output);

            // Every IP frame on the underlay is WireGuard's UDP 51871 between the node addresses; ARP aside, nothing else.
            var lines = Sh.Must("tcpdump", "-n", "-r", capture).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var ip = lines.Where(l => l.Contains(" IP ")).ToList();
            Assert.True(ip.Count > 100, $"too few frames captured: {ip.Count}\n{dump.Output}");
            var other = ip.Where(l => !(l.Contains("198.18.0.1.51871 > 198.18.0.2.51871: UDP") || l.Contains("198.18.0.2.51871 > 198.18.0.1.51871: UDP"))).ToList();
            Assert.True(other.Count == 0, "frames other than WireGuard on the underlay:\n" + string.Join('\n', other.Take(10)));
            // No inner header in clear: neither pod's address appears anywhere in the captured bytes.
            var bytes = File.ReadAllBytes(capture);
            foreach (var pod in new[] { topo["client-a"].Ip, topo["web-b"].Ip })
                Assert.True(bytes.AsSpan().IndexOf(System.Net.IPAddress.Parse(pod).GetAddressBytes()) < 0, $"{pod} in clear on the underlay");

            // Keys: made by each agent, kept mode 0600 in its state directory, learned by the other through etcd.
            foreach (var node in new[] { "node-a", "node-b" })
            {
                string key = Path.Combine(topo.StateDir(node), "wireguard.key");
                Assert.True(File.Exists(key), key);
                Assert.True(OperatingSystem.IsLinux());
                if (OperatingSystem.IsLinux()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
            }
            var status = topo.Status("node-a")!;
            var peer = Assert.Single(status.Encryption!.Peers);
            Assert.Equal("node-b", peer.Node);
            Assert.Equal("198.18.0.2:51871", peer.Endpoint);
            Assert.NotNull(peer.LastHandshake);
            Assert.True(peer.TxBytes > 1_000_000 && peer.RxBytes > 10_000, $"rx {peer.RxBytes} tx {peer.TxBytes}");   // 1 MB out, the ACKs back
            Assert.Equal(topo.Status("node-b")!.Encryption!.PublicKey, peer.PublicKey);

            // Flows mark what crossed the tunnel (Hubble's IP.encrypted): client-a → web-b leaving node-a and arriving
            // on node-b, the replies the other way; client-a → web-a stays on node-a and is not marked.
            string clientA = topo["client-a"].Ip, webB = topo["web-b"].Ip, webA = topo["web-a"].Ip;
            foreach (var (node, src, dst) in new[] { ("node-a", clientA, webB), ("node-b", clientA, webB), ("node-a", webB, clientA), ("node-b", webB, clientA) })
            {
                var flows = ForwardedFlows(topo.FlowsFile(node), src, dst);
                Assert.True(flows.Count > 0, $"{node}: no forwarded flow {src} → {dst} in {topo.FlowsFile(node)}");
                Assert.All(flows, f => Assert.True(f.Encrypted, $"{node}: {src} → {dst} not marked encrypted: {f.Json}"));
            }
            var local = ForwardedFlows(topo.FlowsFile("node-a"), clientA, webA);
            Assert.True(local.Count > 0, $"node-a: no forwarded flow {clientA} → {webA}");
            Assert.All(local, f => Assert.False(f.Encrypted, $"node-a: local {clientA} → {webA} marked encrypted: {f.Json}"));
        }
        finally { Report(topo); }
    }

    /// <summary>
    /// Strict mode on node-a, node-b without encryption (no key published): pod traffic to node-b would leave in
    /// clear, so it is dropped with Cilium's reason UNENCRYPTED_TRAFFIC (195), counted; nothing reaches node-b's pods.
    /// </summary>
    [SkippableFact]
    public async Task StrictModeDropsPodTrafficToANodeWithoutAKey()
    {
        Requires.RootAnd("ip", "ping", "python3", "etcd");
        await using var topo = await Meshed(node => node == "node-a" ? "{enabled: true, type: wireguard, strictMode: {enabled: true}}" : "");
        try
        {
            var r = topo.Exec(topo["client-a"].Ns, Short, "ping", "-c", "3", "-i", "0.2", "-W", "1", topo["web-b"].Ip);
            Assert.False(r.Ok, r.Output);
            topo.WaitStatus("node-a", s => s.DropsByReason.Any(d => d.Key.StartsWith("UNENCRYPTED_TRAFFIC", StringComparison.Ordinal) && d.Value >= 3),
                "strict-mode drops on node-a");
            Assert.Empty(topo.Status("node-a")!.Encryption!.Peers);
        }
        finally { Report(topo); }
    }

    /// <summary>
    /// Rekeying between two of our nodes: with Rekey-After-Time shortened to 2 s (the agents' test-only
    /// <c>DATAPLANE_WG_REKEY_AFTER_SECONDS</c>), a 10-second ping stream across the nodes spans several new sessions
    /// and loses nothing; no transport packet is dropped by either device (expired key, unknown index, replay, tag).
    /// </summary>
    [SkippableFact]
    public async Task RekeysBetweenOurNodesLoseNothing()
    {
        Requires.RootAnd("ip", "ping", "python3", "etcd");
        await using var topo = await Meshed(_ => Wireguard, agentEnv: [$"{Dataplane.Host.Encryption.NodeEncryption.RekeyAfterEnvironment}=2"]);
        try
        {
            Ping(topo, "client-a", topo["web-b"].Ip);   // the first session
            long before = Counter(topo, "HandshakesCompleted");
            var r = topo.Exec(topo["client-a"].Ns, TimeSpan.FromSeconds(40), "ping", "-c", "200", "-i", "0.05", "-W", "2", topo["web-b"].Ip);
            Assert.True(r.Ok && r.Output.Contains("200 received"), r.Output);
            long rekeys = Counter(topo, "HandshakesCompleted") - before;
            output.WriteLine($"handshakes completed during the stream (both nodes): {rekeys}");
            // 10 s at 2 s per session: about five rekeys; three is the least a working rekey timer gives.
            Assert.True(rekeys >= 3, $"only {rekeys} handshake(s) completed during the stream");
            foreach (var drop in new[] { "DropKeyExpired", "DropUnknownIndex", "DropReplay", "DropDecrypt", "DropStagedOverflow" })
                Assert.Equal(0, Counter(topo, drop));
        }
        finally { Report(topo); }
    }

    /// <summary>A WireGuard counter of the two nodes' devices, summed.</summary>
    private static long Counter(MeshTopology topo, string name) =>
        new[] { "node-a", "node-b" }.Sum(n => topo.Status(n)!.Encryption!.Counters.GetValueOrDefault(name));

    /// <summary>The FORWARDED flows from <paramref name="src"/> to <paramref name="dst"/> in a flow file (hubble JSON lines), polled (bounded) until there is one.</summary>
    private static List<(bool Encrypted, string Json)> ForwardedFlows(string file, string src, string dst)
    {
        var found = new List<(bool, string)>();
        for (int i = 0; i < 50 && found.Count == 0; i++)
        {
            if (i > 0) Thread.Sleep(200);
            if (!File.Exists(file)) continue;
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            while (reader.ReadLine() is { } line)
            {
                if (!line.EndsWith('}')) continue;   // the exporter's last line may be half written
                using var doc = System.Text.Json.JsonDocument.Parse(line);
                if (!doc.RootElement.TryGetProperty("flow", out var flow) || !flow.TryGetProperty("IP", out var ip)) continue;
                if (flow.GetProperty("verdict").GetString() != "FORWARDED") continue;
                if (ip.GetProperty("source").GetString() != src || ip.GetProperty("destination").GetString() != dst) continue;
                found.Add((ip.TryGetProperty("encrypted", out var e) && e.GetBoolean(), line));
            }
        }
        return found;
    }

    private static async Task<MeshTopology> Meshed(Func<string, string> encryption, bool flowFiles = false, string[]? agentEnv = null)
    {
        var topo = await MeshTopology.StartAsync(encryption: encryption, flowFiles: flowFiles, agentEnv: agentEnv);
        try
        {
            foreach (var (agent, node) in new[] { (topo.AgentA!, "node-a"), (topo.AgentB!, "node-b") })
                Assert.True(agent.WaitFor("run: forwarding on", TimeSpan.FromSeconds(60)), $"{node} did not start:\n{agent.Output}");
            topo.WaitStatus("node-a", s => s.ClusterMesh is { Connected: true, RemoteNodes: 1, RemoteEntries: 3 }, "node-a meshed");
            topo.WaitStatus("node-b", s => s.ClusterMesh is { Connected: true, RemoteNodes: 1, RemoteEntries: 3 }, "node-b meshed");
            return topo;
        }
        catch
        {
            await topo.DisposeAsync();
            throw;
        }
    }

    private static void Ping(MeshTopology topo, string from, string ip)
    {
        // The first echo waits for the handshake and may race the other side's reload: three bounded tries.
        Sh.Result r = default!;
        for (int i = 0; i < 3; i++)
        {
            r = topo.Exec(topo[from].Ns, Short, "ping", "-c", "3", "-i", "0.2", "-W", "2", ip);
            if (r.Ok && r.Output.Contains(" 0% packet loss")) return;
        }
        Assert.Fail($"ping {ip} from {from}: {r.Output}");
    }

    private void Report(MeshTopology topo)
    {
        foreach (var node in new[] { "node-a", "node-b" })
        {
            var s = topo.Status(node);
            output.WriteLine($"{node} encryption: {System.Text.Json.JsonSerializer.Serialize(s?.Encryption)}");
            output.WriteLine($"{node} drops: {System.Text.Json.JsonSerializer.Serialize(s?.DropsByReason)}");
        }
        output.WriteLine($"agent a:\n{topo.AgentA?.Output}\nagent b:\n{topo.AgentB?.Output}");
    }
}
