using Dataplane.Core.Packets;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// CiliumEgressGatewayPolicy through both pipelines, conntrack on. node-a as a plain node: the selected pod's
/// traffic to the policy's destinations is steered to node-b or node-c by rendezvous hashing (VXLAN toward the
/// gateway), excluded destinations, unselected pods and in-cluster destinations are routed as usual, and with
/// every gateway down it drops with 194. node-a as the gateway: local and tunnelled remote pods' traffic leaves
/// SNATed to the egress IP (or the interface's address) and replies come back. Every packet must leave both
/// pipelines with the same bytes, verdict, drop reason and metadata.
/// </summary>
public class EgressGatewayDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    private const string World = "198.18.9.9";

    private static string Nodes(bool down = false) => ServiceCluster.Base
        .Replace("metadata: {name: node-b, labels: {role: worker}}", $"metadata: {{name: node-b, labels: {{role: worker, gw: \"yes\"{(down ? $", {Dataplane.Control.Compiler.EgressGatewayCompiler.DownLabel}: \"true\"" : "")}}}}}")
        .Replace("metadata: {name: node-c, labels: {role: worker}}", $"metadata: {{name: node-c, labels: {{role: worker, gw: \"yes\"{(down ? $", {Dataplane.Control.Compiler.EgressGatewayCompiler.DownLabel}: \"true\"" : "")}}}}}");

    private static string NodeAGateway => ServiceCluster.Base.Replace("metadata: {name: node-a, labels: {role: worker}}",
        "metadata: {name: node-a, labels: {role: worker, kubernetes.io/hostname: node-a}}")
        + "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: far, namespace: prod, labels: {app: client}}\nspec: {nodeName: node-b}\nstatus: {podIPs: [{ip: 10.0.2.30}]}\n";

    private static string Policy(string gateways) => $$$"""
        apiVersion: cilium.io/v2
        kind: CiliumEgressGatewayPolicy
        metadata: {name: egress-clients}
        spec:
          selectors:
          - podSelector: {matchLabels: {app: client}}
          destinationCIDRs: [198.18.9.0/24]
          excludedCIDRs: [198.18.9.128/25]
        {{{gateways}}}
        """;

    private static (byte[], ushort) Tcp(ServiceCluster c, string from, string src, string dst, ushort sport, ushort dport, byte flags)
    {
        var f = c.From(from);
        return (PacketBuilder.Eth4(PacketBuilder.Ipv4(src, dst, 6, PacketBuilder.Tcp(sport, dport, flags, payload: 5)), f.DstMac, f.Mac), f.Port);
    }

    private static void Same(DualPipeline dual, (byte[] Frame, ushort Port) f, uint now)
    {
        string? diff = dual.Compare(f.Frame, f.Port, now);
        Assert.True(diff == null, diff);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void SteeredExemptAndRefusedTrafficMatches(bool down)
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(Policy("  egressGateways:\n  - nodeSelector: {matchLabels: {gw: \"yes\"}}"), Nodes(down));
        Assert.True(c.Snapshot.Services.EgressGateway.Any);
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 9_000_000;
        string client = c.Ip("prod/client");
        var outcomes = new HashSet<(byte Verdict, byte Reason, bool Preset)>();
        for (ushort sport = 50000; sport < 50024; sport++)
        {
            foreach (var dst in new[] { World, "198.18.9.200", "198.18.8.8", "10.0.2.10" })
            {
                Same(dual, Tcp(c, "prod/client", client, dst, sport, 443, 0x02), t);
                var v = dual.LastBpf!.Verdict;
                outcomes.Add((v.Verdict, v.DropReason, (v.Flags & (ushort)PacketFlags.NextHopPreset) != 0));
            }
            Same(dual, Tcp(c, "prod/web-1", c.Ip("prod/web-1"), World, sport, 443, 0x02), t);
        }
        if (down)
            Assert.Contains(((byte)PacketVerdict.Drop, (byte)194, false), outcomes);
        else
            Assert.Contains(((byte)PacketVerdict.Tx, (byte)0, true), outcomes);
        Assert.Contains(((byte)PacketVerdict.Tx, (byte)0, false), outcomes);
        Assert.Equal(dual.CsharpConnections, ConntrackGc.Count(fixture.Tracked));
    }

    [SkippableTheory]
    [InlineData("egressIP: 198.18.0.100", "198.18.0.100")]
    [InlineData("interface: eth0", "198.18.0.1")]
    public void OnTheGatewayNodeLocalAndTunnelledPodsLeaveSnatedAndRepliesReturn(string egress, string egressIp)
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(Policy($"  egressGateway: {{nodeSelector: {{matchLabels: {{kubernetes.io/hostname: node-a}}}}, {egress}}}"), NodeAGateway);
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 9_100_000;
        foreach (var (from, src) in new[] { ("prod/client", c.Ip("prod/client")), ("10.0.2.30", "10.0.2.30") })
        {
            for (ushort sport = 51000; sport < 51012; sport++)
            {
                Same(dual, Tcp(c, from, src, World, sport, 443, 0x02), t);
                var (meta, output) = dual.LastCsharp;
                Assert.Equal(PacketVerdict.Tx, meta.Verdict);
                var wire = Wire.Read(output);
                Assert.Equal(egressIp, wire.Src);
                Same(dual, Tcp(c, World, World, egressIp, 443, wire.SrcPort, 0x12), t + 1);
                Assert.Equal(src, Wire.Read(dual.LastCsharp.Output).Dst);
                Same(dual, Tcp(c, from, src, World, sport, 443, 0x10), t + 2);
            }
        }
        Assert.Equal(dual.CsharpConnections, ConntrackGc.Count(fixture.Tracked));
    }
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class EgressGatewayDifferentialTcTests(TcDatapathFixture fixture) : EgressGatewayDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
