using Dataplane.Core.Packets;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// Backend selection beyond Maglev through both pipelines, conntrack on: lb-algorithm random (the worker's
/// xorshift64* sequence, which the program keeps in one shared slot seeded the same way), sessionAffinity ClientIP
/// (bindings that hold across connections, expire after their timeout and are then made anew, over Maglev and
/// random), and Local traffic policies (internal: only this node's backends; external with none here: 158). Each
/// SYN, the backend's reply and the client's ACK must leave both pipelines with the same bytes, verdict and
/// metadata, so the same backend; both tables must hold as many connections.
/// </summary>
public class ServiceSelectionDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    private static readonly string Docs = ServiceYaml.Docs(
        ServiceYaml.Service("rnd", "  clusterIP: 198.18.50.20\n  externalIPs: [198.18.61.20]\n  ports: [{name: http, port: 80, targetPort: http}]",
            "{service.cilium.io/lb-algorithm: random}"),
        ServiceYaml.WebSlice("rnd"),
        ServiceYaml.Service("sticky", "  clusterIP: 198.18.50.21\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n  ports: [{name: http, port: 80, targetPort: http}]",
            "{service.cilium.io/lb-algorithm: maglev}"),
        ServiceYaml.WebSlice("sticky"),
        ServiceYaml.Service("sticky-rnd", "  clusterIP: 198.18.50.22\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n  ports: [{name: http, port: 80, targetPort: http}]",
            "{service.cilium.io/lb-algorithm: random}"),
        ServiceYaml.WebSlice("sticky-rnd"),
        ServiceYaml.Service("local", "  clusterIP: 198.18.50.23\n  internalTrafficPolicy: Local\n  ports: [{name: http, port: 80, targetPort: http}]",
            "{service.cilium.io/lb-algorithm: maglev}"),
        ServiceYaml.WebSlice("local"),
        // External traffic policy Local with only the remote endpoint ready: no backend here for outside clients.
        ServiceYaml.Service("remote-only", "  clusterIP: 198.18.50.24\n  externalIPs: [198.18.61.24]\n  externalTrafficPolicy: Local\n  ports: [{name: http, port: 80, targetPort: http}]",
            "{service.cilium.io/lb-algorithm: maglev}"),
        ServiceYaml.WebSlice("remote-only", web1: "{ready: false}", web2: "{ready: false}"));

    /// <summary>SYN, the backend's reply, the client's ACK; returns the backend the SYN went to (null: dropped).</summary>
    private static string? Connect(DualPipeline dual, ServiceCluster c, string from, string vip, ushort sport, uint now)
    {
        string client = c.Ip(from);
        var f = c.From(from);
        byte[] Syn(byte flags) => PacketBuilder.Eth4(PacketBuilder.Ipv4(client, vip, 6, PacketBuilder.Tcp(sport, 80, flags, payload: 5)), f.DstMac, f.Mac);
        string? diff = dual.Compare(Syn(0x02), f.Port, now);
        Assert.True(diff == null, diff);
        var (meta, output) = dual.LastCsharp;
        if (meta.Verdict != PacketVerdict.Tx) return null;
        var wire = Wire.Read(output);
        string who = c.Model.Pods.FirstOrDefault(p => p.Ips.Any(a => a.ToString() == wire.Dst)) is { } pod && pod.NodeName == "node-a"
            ? $"{pod.Namespace}/{pod.Name}" : wire.Dst;
        var b = c.From(who);
        var reply = PacketBuilder.Eth4(PacketBuilder.Ipv4(wire.Dst, wire.Src, 6, PacketBuilder.Tcp(8080, wire.SrcPort, 0x12)), b.DstMac, b.Mac);
        diff = dual.Compare(reply, b.Port, now);
        Assert.True(diff == null, diff);
        Assert.Equal(vip, Wire.Read(dual.LastCsharp.Output).Src);
        diff = dual.Compare(Syn(0x10), f.Port, now);
        Assert.True(diff == null, diff);
        return wire.Dst;
    }

    private DualPipeline Dual(ServiceCluster c)
    {
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        return new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
    }

    [SkippableFact]
    public void RandomSelectionPicksTheSameBackendsInTheSameOrder()
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(Docs);
        using var dual = Dual(c);
        var picks = new List<string?>();
        for (ushort sport = 43000; sport < 43040; sport++)
            picks.Add(Connect(dual, c, sport % 2 == 0 ? "prod/client" : "198.18.7.7", sport % 2 == 0 ? "198.18.50.20" : "198.18.61.20", sport, 8_000_000));
        Assert.DoesNotContain(null, picks);
        Assert.Equal(3, picks.Distinct().Count());
        Assert.Equal(dual.CsharpConnections, ConntrackGc.Count(fixture.Tracked));
    }

    [SkippableTheory]
    [InlineData("198.18.50.21")]
    [InlineData("198.18.50.22")]
    public void ClientIpAffinityHoldsAcrossConnectionsAndIsRenewedAfterItsTimeout(string vip)
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(Docs);
        using var dual = Dual(c);
        uint t = 8_100_000;
        foreach (var client in new[] { "prod/client", "prod/web-1", "prod/client" })
        {
            var picks = new HashSet<string?>();
            for (ushort sport = 44000; sport < 44012; sport++)
                picks.Add(Connect(dual, c, client, vip, sport, t));
            Assert.Single(picks);
            Assert.DoesNotContain(null, picks);
            t += 10;
        }
        // Past the timeout (600 s) every binding is gone on both sides and is made again.
        t += 700;
        for (ushort sport = 45000; sport < 45012; sport++)
            Connect(dual, c, "prod/client", vip, sport, t);
        Assert.Equal(dual.CsharpConnections, ConntrackGc.Count(fixture.Tracked));
        Assert.True(fixture.Tracked.LbAffinity.Keys<LbAffinityKey>().Count >= 2);
    }

    [SkippableFact]
    public void LocalTrafficPoliciesNarrowTheBackendsOrDrop158()
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(Docs);
        using var dual = Dual(c);
        var picks = new HashSet<string?>();
        for (ushort sport = 46000; sport < 46024; sport++)
            picks.Add(Connect(dual, c, "prod/client", "198.18.50.23", sport, 8_200_000));
        Assert.Equal(["10.0.1.10", "10.0.1.11"], picks.Order());
        // From outside, the external IP has no backend on this node: 158; a pod uses the cluster-wide set.
        Assert.Null(Connect(dual, c, "198.18.7.7", "198.18.61.24", 46100, 8_200_000));
        Assert.Equal(158, dual.LastBpf!.Verdict.DropReason);
        Assert.Equal("10.0.2.10", Connect(dual, c, "prod/client", "198.18.50.24", 46101, 8_200_000));
    }
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class ServiceSelectionDifferentialTcTests(TcDatapathFixture fixture) : ServiceSelectionDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
