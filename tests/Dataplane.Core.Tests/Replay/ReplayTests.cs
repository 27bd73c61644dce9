using System.Text.Json;
using Dataplane.Control.Config;
using Dataplane.Core.Tests.Support;
using Dataplane.Node.Replay;

namespace Dataplane.Core.Tests.Replay;

/// <summary>
/// `replay` as a user runs it: a capture written by scapy, the example config, our output decoded by tshark
/// and by scapy (independent decoders), flow records checked, and the run repeated for byte-identical output.
/// </summary>
public class ReplayTests
{
    private static string ExampleDir => Path.Combine(Sh.RepoRoot, "examples", "replay");

    private static void MakeInput(string path)
    {
        var (exit, _, err) = Sh.Run(TimeSpan.FromSeconds(60), Sh.Python, [Path.Combine(ExampleDir, "make-pcap.py"), path]);
        Assert.True(exit == 0, "scapy failed: " + err);
    }

    [Fact]
    public void ScapyCaptureIsForwardedAndDecodedByTshark()
    {
        using var tmp = new TempDir();
        MakeInput(tmp["in.pcap"]);
        var result = Replayer.Run(Path.Combine(ExampleDir, "config"), tmp["in.pcap"], tmp["out.pcap"], tmp["flows.jsonl"], TextWriter.Null);
        Assert.Equal(10, result.Packets);
        Assert.Equal(5, result.Transmitted);
        Assert.Equal(5, result.Dropped);

        var (exit, json, err) = Sh.Run(TimeSpan.FromSeconds(60), "tshark", ["-r", tmp["out.pcap"], "-T", "json", "-o", "ip.check_checksum:TRUE",
            "-e", "eth.src", "-e", "eth.dst", "-e", "ip.ttl", "-e", "ip.checksum.status", "-e", "ipv6.hlim", "-e", "arp.opcode",
            "-e", "arp.src.proto_ipv4", "-e", "vlan.id", "-e", "tcp.dstport"]);
        Assert.True(exit == 0, err);
        var frames = JsonDocument.Parse(json).RootElement.EnumerateArray()
            .Select(f => f.GetProperty("_source").GetProperty("layers")).ToList();
        Assert.Equal(5, frames.Count);
        string F(JsonElement l, string name) => l.TryGetProperty(name, out var v) ? v[0].GetString()! : "";

        // web → db on node-b: routed natively to node-b's MAC, TTL 63, valid header checksum.
        Assert.Equal("02:00:00:00:0b:01", F(frames[0], "eth.dst"));
        Assert.Equal("02:00:00:00:0a:01", F(frames[0], "eth.src"));
        Assert.Equal("63", F(frames[0], "ip.ttl"));
        Assert.Equal("1", F(frames[0], "ip.checksum.status"));   // 1 = good
        Assert.Equal("5432", F(frames[0], "tcp.dstport"));
        Assert.Equal("63", F(frames[1], "ipv6.hlim"));
        // VLAN-tagged ICMP toward the pod: untagged on the pod port, from the router MAC to the pod MAC.
        Assert.Equal("", F(frames[2], "vlan.id"));
        Assert.Equal("02:11:22:33:44:55", F(frames[2], "eth.dst"));
        Assert.Equal("02:00:00:00:00:99", F(frames[2], "eth.src"));
        Assert.Equal("1", F(frames[2], "ip.checksum.status"));
        Assert.Equal("63", F(frames[3], "ipv6.hlim"));
        // ARP for the pod's gateway answered by the router MAC.
        Assert.Equal("2", F(frames[4], "arp.opcode"));
        Assert.Equal("198.18.100.1", F(frames[4], "arp.src.proto_ipv4"));

        var flows = File.ReadAllLines(tmp["flows.jsonl"]).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("flow")).ToList();
        Assert.Equal(10, flows.Count);
        Assert.Equal("FORWARDED", flows[0].GetProperty("verdict").GetString());
        Assert.Equal("EGRESS", flows[0].GetProperty("traffic_direction").GetString());
        Assert.Equal("web", flows[0].GetProperty("source").GetProperty("pod_name").GetString());
        Assert.Equal("shop", flows[0].GetProperty("source").GetProperty("namespace").GetString());
        Assert.Equal(40000, flows[0].GetProperty("l4").GetProperty("TCP").GetProperty("source_port").GetInt32());
        Assert.True(flows[0].GetProperty("l4").GetProperty("TCP").GetProperty("flags").GetProperty("SYN").GetBoolean());
        Assert.Equal("198.18.101.20", flows[0].GetProperty("IP").GetProperty("destination").GetString());
        Assert.Equal("INGRESS", flows[2].GetProperty("traffic_direction").GetString());
        // examples/replay/config/policy.yaml: each forwarded flow names the rule that allowed it.
        Assert.Equal("web", flows[0].GetProperty("egress_allowed_by")[0].GetProperty("name").GetString());
        Assert.Equal("shop", flows[1].GetProperty("egress_allowed_by")[0].GetProperty("namespace").GetString());
        Assert.Equal("web", flows[2].GetProperty("ingress_allowed_by")[0].GetProperty("name").GetString());
        Assert.Equal(9, flows[2].GetProperty("source").GetProperty("identity").GetInt32());   // world-ipv4
        Assert.Equal("web", flows[3].GetProperty("ingress_allowed_by")[0].GetProperty("name").GetString());
        string[] expectedDrops = ["INVALID_SOURCE_IP", "TTL_EXCEEDED", "NO_MATCHING_LOCAL_CONTAINER_FOUND", "ERROR_WHILE_CORRECTING_L3_CHECKSUM", "POLICY_DENIED"];
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal("DROPPED", flows[5 + i].GetProperty("verdict").GetString());
            Assert.Equal(expectedDrops[i], flows[5 + i].GetProperty("drop_reason_desc").GetString());
        }
        Assert.Equal(132, flows[5].GetProperty("drop_reason").GetInt32());
        Assert.Equal(133, flows[9].GetProperty("drop_reason").GetInt32());
        Assert.Equal("EGRESS", flows[9].GetProperty("traffic_direction").GetString());
    }

    [Fact]
    public void ScapyAgreesOurChecksumsAreRight()
    {
        using var tmp = new TempDir();
        MakeInput(tmp["in.pcap"]);
        Replayer.Run(Path.Combine(ExampleDir, "config"), tmp["in.pcap"], tmp["out.pcap"], null, TextWriter.Null);
        // scapy recomputes each IPv4 header checksum from scratch and compares with what we wrote.
        const string script = """
            import sys
            from scapy.all import rdpcap, IP, Ether
            for p in rdpcap(sys.argv[1]):
                if IP in p:
                    ours = p[IP].chksum
                    q = p[IP].copy(); del q.chksum
                    print("ip", p[IP].ttl, ours == IP(bytes(q)).chksum)
            """;
        File.WriteAllText(tmp["check.py"], script);
        var (exit, stdout, err) = Sh.Run(TimeSpan.FromSeconds(60), Sh.Python, [tmp["check.py"], tmp["out.pcap"]]);
        Assert.True(exit == 0, err);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["ip 63 True", "ip 63 True"], lines);
    }

    [Fact]
    public void ReplayIsDeterministic()
    {
        using var tmp = new TempDir();
        MakeInput(tmp["in.pcap"]);
        var config = Path.Combine(ExampleDir, "config");
        Replayer.Run(config, tmp["in.pcap"], tmp["a.pcap"], tmp["a.jsonl"], TextWriter.Null);
        Replayer.Run(config, tmp["in.pcap"], tmp["b.pcap"], tmp["b.jsonl"], TextWriter.Null);
        Assert.Equal(File.ReadAllBytes(tmp["a.pcap"]), File.ReadAllBytes(tmp["b.pcap"]));
        Assert.Equal(File.ReadAllBytes(tmp["a.jsonl"]), File.ReadAllBytes(tmp["b.jsonl"]));
    }

    [Fact]
    public void BadConfigFailsWithLocationAndWritesNothing()
    {
        using var tmp = new TempDir();
        MakeInput(tmp["in.pcap"]);
        var config = Directory.CreateDirectory(tmp["config"]).FullName;
        foreach (var f in Directory.GetFiles(Path.Combine(ExampleDir, "config"))) File.Copy(f, Path.Combine(config, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(config, "zz-bad.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  nodeName: node-a\nstatus:\n  podIPs: [{ip: 198.18.100.300}]\n");
        var e = Assert.Throws<ConfigException>(() => Replayer.Run(config, tmp["in.pcap"], tmp["out.pcap"], null, TextWriter.Null));
        Assert.EndsWith("zz-bad.yaml", e.Location.File);
        Assert.Equal(8, e.Location.Line);
        Assert.False(File.Exists(tmp["out.pcap"]));
    }

    [Fact]
    public void BinaryExitsNonZeroWithFileLineAndReason()
    {
        using var tmp = new TempDir();
        MakeInput(tmp["in.pcap"]);
        var config = Directory.CreateDirectory(tmp["config"]).FullName;
        File.WriteAllText(Path.Combine(config, "node.yaml"), "apiVersion: v1\nkind: Node\nmetadata:\n  name: [oops\n");
        var dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        var (exit, _, err) = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", [dll, "replay", "--config", config, "--in", tmp["in.pcap"], "--out", tmp["out.pcap"]]);
        Assert.Equal(2, exit);
        Assert.Contains("node.yaml:", err);
        Assert.False(File.Exists(tmp["out.pcap"]));

        File.WriteAllBytes(tmp["garbage.pcap"], [1, 2, 3, 4, 5]);
        var (exit2, _, err2) = Sh.Run(TimeSpan.FromSeconds(60), "dotnet", [dll, "replay", "--config", Path.Combine(ExampleDir, "config"), "--in", tmp["garbage.pcap"], "--out", tmp["out2.pcap"]]);
        Assert.Equal(1, exit2);
        Assert.Contains("error:", err2);
    }
}
