using Dataplane.Core.Packets;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// SNAT through both pipelines, conntrack on: masquerade of pod traffic to the world (TCP, UDP, ICMP echo; IPv4
/// and IPv6) with the replies reverse-translated, the exempt destinations, a port range small enough to be
/// scanned and exhausted (167), colliding source ports, untranslatable protocols (168) and later fragments
/// (157); and services whose Maglev ring includes a backend on node-b, reached from outside (DNAT then SNAT, two
/// chained entries) and from a pod (DNAT only). Every packet must leave both pipelines with the same bytes — so
/// the same NAT port — verdict, drop reason and metadata, and both tables must hold as many connections.
/// </summary>
public class SnatDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    private const string World = "198.18.9.9", World6 = "2001:db8:9::9", Node = "198.18.0.1", Node6 = "2001:db8:0:1::1";

    private static void Same(DualPipeline dual, (byte[] Frame, ushort Port) f, uint now)
    {
        string? diff = dual.Compare(f.Frame, f.Port, now);
        Assert.True(diff == null, diff);
    }

    private void SameConnections(DualPipeline dual) =>
        Assert.Equal(dual.CsharpConnections, ConntrackGc.Count(fixture.Tracked));

    /// <summary>A frame from a pod ("ns/name") or an address arriving on eth0, as the C# tests send it.</summary>
    private static (byte[], ushort) Frame(ServiceCluster c, string from, string src, string dst, byte proto, byte[] l4, bool v6,
        ushort frag = 0x4000)
    {
        var f = c.From(from);
        var frame = v6
            ? PacketBuilder.Eth6(PacketBuilder.Ipv6(src, dst, proto, l4), f.DstMac, f.Mac)
            : PacketBuilder.Eth4(PacketBuilder.Ipv4(src, dst, proto, l4, fragField: frag), f.DstMac, f.Mac);
        return (frame, f.Port);
    }

    private static byte[] L4(byte proto, ushort sport, ushort dport, byte flags = 0x02) => proto switch
    {
        6 => PacketBuilder.Tcp(sport, dport, flags, payload: 5),
        17 => PacketBuilder.Udp(sport, dport, [1, 2, 3, 4, 5]),
        1 => PacketBuilder.Icmp(flags == 0x02 ? (byte)8 : (byte)0, 0, id: sport),
        _ => PacketBuilder.Icmp6(flags == 0x02 ? (byte)128 : (byte)129, 0, id: sport),
    };

    public static TheoryData<byte, bool> Protocols => new() { { 6, false }, { 6, true }, { 17, false }, { 17, true }, { 1, false }, { 58, true } };

    [SkippableTheory]
    [MemberData(nameof(Protocols))]
    public void MasqueradedConnectionsAndTheirRepliesMatchPacketForPacket(byte proto, bool v6)
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster("", dataplaneSpecExtra: "  masquerade: {nonMasqueradeCIDRs: [198.18.200.0/24, \"2001:db8:200::/48\"]}\n");
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 7_000_000;
        string world = v6 ? World6 : World, node = v6 ? Node6 : Node;
        bool echo = proto is 1 or 58;
        ushort dport = echo ? (ushort)0 : (ushort)443;
        var natPorts = new HashSet<ushort>();
        foreach (var pod in new[] { "prod/client", "prod/web-1" })
        {
            // The same source ports from two pods: the second pod's collide with the first's NAT ports.
            for (ushort sport = 33000; sport < 33012; sport++)
            {
                Same(dual, Frame(c, pod, c.Ip(pod, v6), world, proto, L4(proto, sport, dport), v6), t);
                var (meta, output) = dual.LastCsharp;
                Assert.Equal(PacketVerdict.Tx, meta.Verdict);
                var wire = Wire.Read(output);
                Assert.Equal(node, wire.Src);
                Assert.True(wire.ChecksumsOk);
                natPorts.Add(wire.SrcPort);

                // The world answers the node's address and port; the pod gets it back.
                Same(dual, Frame(c, world, world, node, proto, L4(proto, echo ? wire.SrcPort : dport, wire.SrcPort, 0x12), v6), t + 1);
                Assert.Equal(CtState.Reply, dual.LastCsharp.Meta.CtState);
                Assert.Equal(c.Ip(pod, v6), Wire.Read(dual.LastCsharp.Output).Dst);

                Same(dual, Frame(c, pod, c.Ip(pod, v6), world, proto, L4(proto, sport, dport, 0x10), v6), t + 2);
            }
        }
        Assert.Equal(24, natPorts.Count);
        SameConnections(dual);
        // Exempt destinations (a pod of node-b, the non-masquerade CIDRs) keep the pod's address.
        foreach (var dst in v6 ? new[] { "fd00:2::10", "2001:db8:200::7" } : ["10.0.2.10", "198.18.200.7"])
        {
            Same(dual, Frame(c, "prod/client", c.Ip("prod/client", v6), dst, proto, L4(proto, 34000, dport), v6), t + 3);
            Assert.Equal(c.Ip("prod/client", v6), Wire.Read(dual.LastCsharp.Output).Src);
        }
        SameConnections(dual);
    }

    [SkippableFact]
    public void SmallPortRangeIsScannedThenExhaustedAndUntranslatablePacketsDrop()
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster("", dataplaneSpecExtra: "  masquerade: {portRange: {min: 40000, max: 40003}}\n");
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 7_100_000;
        var reasons = new List<byte>();
        for (ushort sport = 1; sport <= 6; sport++)
        {
            Same(dual, Frame(c, "prod/client", c.Ip("prod/client"), World, 6, L4(6, sport, 443), false), t);
            reasons.Add(dual.LastBpf!.Verdict.DropReason);
        }
        Assert.Equal([0, 0, 0, 0, 167, 167], reasons);
        // Ports are per destination tuple: another destination port still gets one.
        Same(dual, Frame(c, "prod/client", c.Ip("prod/client"), World, 6, L4(6, 7, 444), false), t);
        Assert.Equal(0, dual.LastBpf!.Verdict.DropReason);
        // SCTP cannot be translated (168); a later fragment has no port to translate (157).
        Same(dual, Frame(c, "prod/client", c.Ip("prod/client"), World, 132, new byte[12], false), t);
        Assert.Equal(168, dual.LastBpf!.Verdict.DropReason);
        Same(dual, Frame(c, "prod/client", c.Ip("prod/client"), World, 17, new byte[24], false, frag: 0x0010), t);
        Assert.Equal(157, dual.LastBpf!.Verdict.DropReason);
        SameConnections(dual);
        // Expiry frees the ports on both sides at the same instant.
        Same(dual, Frame(c, "prod/client", c.Ip("prod/client"), World, 6, L4(6, 8, 443), false), t + 100_000);
        Assert.Equal(0, dual.LastBpf!.Verdict.DropReason);
        SameConnections(dual);
    }

    private static readonly string RemoteBackends = ServiceYaml.Docs(
        ServiceYaml.Service("ext", "  clusterIP: 198.18.50.13\n  externalIPs: [198.18.61.1]\n  ports: [{name: http, port: 80, targetPort: http}]",
            "{service.cilium.io/lb-algorithm: maglev}"),
        ServiceYaml.WebSlice("ext"));

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void RemoteBackendsAreDnatedAndFromOutsideSnatedAsTwoChainedEntries(bool outside)
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(RemoteBackends);
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 7_200_000;
        string from = outside ? "198.18.7.7" : "prod/client";
        string client = c.Ip(from);
        string vip = outside ? "198.18.61.1" : "198.18.50.13";
        var backends = new HashSet<string>();
        for (ushort sport = 41000; sport < 41032; sport++)
        {
            Same(dual, Frame(c, from, client, vip, 6, L4(6, sport, 80), false), t);
            var (meta, output) = dual.LastCsharp;
            Assert.Equal(PacketVerdict.Tx, meta.Verdict);
            var wire = Wire.Read(output);
            Assert.True(wire.ChecksumsOk);
            backends.Add(wire.Dst);
            bool remote = wire.Dst.StartsWith("10.0.2.", StringComparison.Ordinal);
            // From outside, a remote backend sees the node as the client; a pod stays itself.
            Assert.Equal(remote && outside ? Node : client, wire.Src);

            // The backend answers whoever it saw; the client sees the VIP.
            string backendWho = remote ? wire.Dst : c.Model.Pods.First(p => p.Ips.Any(a => a.ToString() == wire.Dst)) is var pod ? $"{pod.Namespace}/{pod.Name}" : wire.Dst;
            Same(dual, Frame(c, backendWho, wire.Dst, wire.Src, 6, L4(6, 8080, wire.SrcPort, 0x12), false), t + 1);
            var back = Wire.Read(dual.LastCsharp.Output);
            Assert.Equal((vip, (ushort)80, client, sport), (back.Src, back.SrcPort, back.Dst, back.DstPort));

            Same(dual, Frame(c, from, client, vip, 6, L4(6, sport, 80, 0x10), false), t + 2);
        }
        Assert.Contains(backends, b => b.StartsWith("10.0.2.", StringComparison.Ordinal));
        Assert.Contains(backends, b => b.StartsWith("10.0.1.", StringComparison.Ordinal));
        SameConnections(dual);
    }

    private static readonly string NodePorts = ServiceYaml.Docs(
        ServiceYaml.Service("np", "  type: NodePort\n  clusterIP: 198.18.50.14\n  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]",
            "{service.cilium.io/lb-algorithm: maglev}"),
        ServiceYaml.WebSlice("np"),
        ServiceYaml.Service("npu", "  type: NodePort\n  clusterIP: 198.18.50.15\n  ports: [{name: http, port: 53, targetPort: http, protocol: UDP, nodePort: 30053}]",
            "{service.cilium.io/lb-algorithm: maglev}"),
        """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: npu-a, namespace: prod, labels: {kubernetes.io/service-name: npu}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: UDP}]
        endpoints:
        - {addresses: [10.0.1.10], nodeName: node-a}
        - {addresses: [10.0.2.10], nodeName: node-b}
        """);

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void NodePortFromOutsideReachesLocalAndRemoteBackendsAndRepliesComeBack(bool udp)
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(NodePorts);
        Assert.Contains(c.Snapshot.Services.Frontends.All(), f => f.Kind == Core.Services.FrontendKind.NodePort);
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 7_300_000;
        const string client = "198.18.7.7";
        byte proto = udp ? (byte)17 : (byte)6;
        ushort nodePort = udp ? (ushort)30053 : (ushort)30080;
        var backends = new HashSet<string>();
        for (ushort sport = 42000; sport < 42032; sport++)
        {
            Same(dual, Frame(c, client, client, Node, proto, L4(proto, sport, nodePort), false), t);
            var (meta, output) = dual.LastCsharp;
            Assert.Equal(PacketVerdict.Tx, meta.Verdict);
            var wire = Wire.Read(output);
            Assert.Equal(8080, wire.DstPort);
            backends.Add(wire.Dst);
            bool remote = wire.Dst.StartsWith("10.0.2.", StringComparison.Ordinal);
            Assert.Equal(remote ? Node : client, wire.Src);
            string backendWho = remote ? wire.Dst : c.Model.Pods.First(p => p.Ips.Any(a => a.ToString() == wire.Dst)) is var pod ? $"{pod.Namespace}/{pod.Name}" : wire.Dst;
            Same(dual, Frame(c, backendWho, wire.Dst, wire.Src, proto, L4(proto, 8080, wire.SrcPort, 0x12), false), t + 1);
            var back = Wire.Read(dual.LastCsharp.Output);
            Assert.Equal((Node, nodePort, client, sport), (back.Src, back.SrcPort, back.Dst, back.DstPort));
        }
        Assert.Contains(backends, b => b.StartsWith("10.0.2.", StringComparison.Ordinal));
        Assert.Contains(backends, b => b.StartsWith("10.0.1.", StringComparison.Ordinal));
        SameConnections(dual);
    }
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class SnatDifferentialTcTests(TcDatapathFixture fixture) : SnatDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
