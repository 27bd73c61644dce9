using System.Text.Json;
using Dataplane.Core.Pcap;
using Dataplane.Core.Tests.Support;
using Dataplane.Node.Replay;

namespace Dataplane.Core.Tests.Policy;

/// <summary>Policy through `replay` as a user runs it: config directory, pcap in, flow records out.</summary>
public class PolicyReplayTests
{
    private const string Policies = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-in, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts: [{ports: [{port: "80", protocol: TCP}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: no-client-to-db}
        spec:
          endpointSelector: {matchLabels: {app: db}}
          ingress: [{fromEntities: [cluster]}]
          ingressDeny: [{fromEndpoints: [{matchLabels: {role: frontend}}]}]
        """;

    [Fact]
    public void FlowsNameTheDecidingPolicyAndDropsCarryCiliumReasons()
    {
        using var tmp = new TempDir();
        var dir = Path.Combine(tmp["cfg"]);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "base.yaml"), PolicyCluster.Base);
        File.WriteAllText(Path.Combine(dir, "policy.yaml"), Policies);

        using (var cluster = new PolicyCluster(Policies))
        using (var w = PcapWriter.Create(tmp["in.pcap"]))
        {
            byte[] Frame(string from, string to, ushort port)
            {
                var f = cluster.Resolve(from); var t = cluster.Resolve(to);
                return PacketBuilder.Eth4(PacketBuilder.Ipv4(f.Ip4, t.Ip4, 6, PacketBuilder.Tcp(40000, port)), f.DstMac, f.Mac);
            }
            w.Write(1_000_000_000, Frame("prod/client", "prod/web", 80));   // allowed by web-in
            w.Write(1_000_001_000, Frame("prod/client", "prod/db", 5432));  // denied by no-client-to-db: 181
            w.Write(1_000_002_000, Frame("dev/client", "prod/web", 80));    // no allow: 133
            w.Write(1_000_003_000, Frame("prod/web", "prod/db", 5432));     // allowed by the cluster entity
        }

        var result = Replayer.Run(dir, tmp["in.pcap"], tmp["out.pcap"], tmp["flows.jsonl"], TextWriter.Null);
        Assert.Equal(4, result.Packets);
        Assert.Equal(2, result.Transmitted);
        Assert.Equal(2, result.Dropped);

        var flows = File.ReadAllLines(tmp["flows.jsonl"]).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("flow")).ToList();
        Assert.Equal("FORWARDED", flows[0].GetProperty("verdict").GetString());
        var by = flows[0].GetProperty("ingress_allowed_by")[0];
        Assert.Equal("web-in", by.GetProperty("name").GetString());
        Assert.Equal("prod", by.GetProperty("namespace").GetString());
        Assert.Contains("k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy",
            by.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.False(flows[0].TryGetProperty("egress_allowed_by", out _));
        Assert.True(flows[0].GetProperty("source").GetProperty("identity").GetUInt32() >= 256);
        Assert.Contains("k8s:app=client", flows[0].GetProperty("source").GetProperty("labels").EnumerateArray().Select(l => l.GetString()));

        Assert.Equal("DROPPED", flows[1].GetProperty("verdict").GetString());
        Assert.Equal(181, flows[1].GetProperty("drop_reason").GetInt32());
        Assert.Equal("POLICY_DENY", flows[1].GetProperty("drop_reason_desc").GetString());
        Assert.Equal("INGRESS", flows[1].GetProperty("traffic_direction").GetString());
        Assert.Equal("no-client-to-db", flows[1].GetProperty("ingress_denied_by")[0].GetProperty("name").GetString());
        // A clusterwide policy has no namespace: protojson leaves the empty field out, as hubble prints it.
        Assert.False(flows[1].GetProperty("ingress_denied_by")[0].TryGetProperty("namespace", out _));

        Assert.Equal(133, flows[2].GetProperty("drop_reason").GetInt32());
        Assert.Equal("POLICY_DENIED", flows[2].GetProperty("drop_reason_desc").GetString());
        Assert.False(flows[2].TryGetProperty("ingress_denied_by", out _));

        Assert.Equal("no-client-to-db", flows[3].GetProperty("ingress_allowed_by")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void WorldAddressesGetWorldIdentityInFlows()
    {
        using var cluster = new PolicyCluster("");
        var m = cluster.Send("prod/web", "8.8.8.8", "tcp", 443);
        Assert.Equal(9u, m.DstIdentity);   // dual-stack cluster: world-ipv4
        m = cluster.Send("prod/web", "2001:db8:ffff::1", "tcp", 443, v6: true);
        Assert.Equal(10u, m.DstIdentity);
        Assert.Equal(cluster.Snapshot.Endpoints.First(e => e?.Name == "web")!.Identity, m.SrcIdentity);
    }
}
