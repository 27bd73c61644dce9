using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using static Dataplane.Testing.Fixtures.ServiceYaml;

namespace Dataplane.Core.Tests.Services;

/// <summary>ClusterIP services through the pipeline: DNAT before routing, reverse NAT of replies, backends kept.</summary>
public sealed class ClusterIpTests
{
    private static readonly string[] WebBackends = ["10.0.1.10", "10.0.1.11", "10.0.2.10"];

    [Fact]
    public void NewConnectionIsDnatedToABackendAndTheReplyComesFromTheVip()
    {
        using var c = new ServiceCluster(Docs(Web, WebSlice("web")));
        var (syn, o) = c.Send("prod/client", "198.18.50.10", 80, sport: 41000);
        Assert.Equal(PacketVerdict.Tx, syn.Verdict);
        Assert.NotNull(o);
        Assert.Contains(o.Dst, WebBackends);
        Assert.Equal(8080, o.DstPort);
        Assert.Equal("10.0.1.30", o.Src);
        Assert.Equal(41000, o.SrcPort);
        Assert.True(o.ChecksumsOk, "IPv4 / TCP checksums after DNAT");
        // Routed to the backend itself: a local backend's port, or toward node-b.
        if (o.Dst == "10.0.2.10") Assert.Equal(ServiceCluster.NodeBMac, o.DstMac);
        else Assert.Equal(o.Dst == "10.0.1.10" ? "prod/web-1" : "prod/web-2", c.PodOnPort(syn.OutPort));

        string backendPod = o.Dst switch { "10.0.1.10" => "prod/web-1", "10.0.1.11" => "prod/web-2", _ => "10.0.2.10" };
        var (synAck, r) = c.Send(backendPod, "10.0.1.30", 41000, sport: 8080, tcpFlags: 0x12, srcIp: backendPod.StartsWith("10.") ? o.Dst : null);
        Assert.Equal(PacketVerdict.Tx, synAck.Verdict);
        Assert.Equal(CtState.Reply, synAck.CtState);
        Assert.Equal("198.18.50.10", r!.Src);
        Assert.Equal(80, r.SrcPort);
        Assert.Equal("10.0.1.30", r.Dst);
        Assert.True(r.ChecksumsOk, "checksums after reverse NAT");
        Assert.Equal("prod/client", c.PodOnPort(synAck.OutPort));
    }

    [Fact]
    public void EstablishedPacketsKeepTheirBackend()
    {
        using var c = new ServiceCluster(Docs(Web, WebSlice("web")));
        for (ushort sport = 42000; sport < 42064; sport++)
        {
            var first = c.Send("prod/client", "198.18.50.10", 80, sport).Out!;
            for (int k = 0; k < 3; k++)
            {
                var (m, o) = c.Send("prod/client", "198.18.50.10", 80, sport, tcpFlags: 0x10);
                Assert.Equal(CtState.Established, m.CtState);
                Assert.Equal(first.Dst, o!.Dst);
            }
        }
    }

    [Fact]
    public void MaglevSpreadsFlowsOverEveryBackend()
    {
        using var c = new ServiceCluster(Docs(Web, WebSlice("web")));
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < 3000; i++)
        {
            var o = c.Send("prod/client", "198.18.50.10", 80, (ushort)(20000 + i)).Out!;
            counts[o.Dst] = counts.GetValueOrDefault(o.Dst) + 1;
        }
        Assert.Equal(3, counts.Count);
        Assert.All(counts.Values, n => Assert.InRange(n, 800, 1200));
    }

    [Fact]
    public void Ipv6ClusterIpIsDnatedWithValidChecksums()
    {
        using var c = new ServiceCluster(Docs(Web, WebSlice("web"), WebSlice6("web")));
        var (m, o) = c.Send("prod/client", "2001:db8:50::10", 80, sport: 43000, v6: true);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Contains(o!.Dst, new[] { "fd00:1::10", "fd00:2::10" });
        Assert.Equal(8080, o.DstPort);
        Assert.True(o.ChecksumsOk);
        string back = o.Dst == "fd00:1::10" ? "prod/web-1" : "fd00:2::10";
        var (rm, r) = c.Send(back, "fd00:1::30", 43000, sport: 8080, tcpFlags: 0x12, v6: true, srcIp: back.StartsWith("fd00") ? back : null);
        Assert.Equal(CtState.Reply, rm.CtState);
        Assert.Equal("2001:db8:50::10", r!.Src);
        Assert.Equal(80, r.SrcPort);
        Assert.True(r.ChecksumsOk);
    }

    [Fact]
    public void UdpServiceIsTranslatedBothWays()
    {
        const string dns = """
            apiVersion: v1
            kind: Service
            metadata: {name: dns, namespace: prod}
            spec: {clusterIP: 198.18.50.53, ports: [{name: dns, port: 53, targetPort: 5353, protocol: UDP}]}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: dns-a, namespace: prod, labels: {kubernetes.io/service-name: dns}}
            addressType: IPv4
            ports: [{name: dns, port: 5353, protocol: UDP}]
            endpoints: [{addresses: [10.0.1.11], nodeName: node-a}]
            """;
        using var c = new ServiceCluster(dns);
        var (m, o) = c.Send("prod/client", "198.18.50.53", 53, sport: 5000, udp: true);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(("10.0.1.11", (ushort)5353), (o!.Dst, o.DstPort));
        Assert.True(o.ChecksumsOk);
        var (_, r) = c.Send("prod/web-2", "10.0.1.30", 5000, sport: 5353, udp: true);
        Assert.Equal(("198.18.50.53", (ushort)53), (r!.Src, r.SrcPort));
        Assert.True(r.ChecksumsOk);
    }

    [Fact]
    public void ServiceWithoutBackendsDrops158()
    {
        using var c = new ServiceCluster(Service("empty", "  clusterIP: 198.18.50.20\n  ports: [{port: 80}]"));
        var (m, _) = c.Send("prod/client", "198.18.50.20", 80);
        Assert.Equal(PacketVerdict.Drop, m.Verdict);
        Assert.Equal(DropReason.ServiceBackendNotFound, m.DropReason);
        Assert.Equal(1ul, c.Drops(DropReason.ServiceBackendNotFound));
        // Another port of the VIP is not a frontend: routed like any address (out of the default route).
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/client", "198.18.50.20", 81).Meta.Verdict);
    }

    [Fact]
    public void NotReadyEndpointsAreNoBackends()
    {
        using var c = new ServiceCluster(Docs(Web, WebSlice("web", "{ready: false}", "{ready: false}", "{ready: false, serving: false}")));
        Assert.Equal(DropReason.ServiceBackendNotFound, c.Send("prod/client", "198.18.50.10", 80).Meta.DropReason);
    }

    [Fact]
    public void HeadlessServiceHasNoFrontend()
    {
        using var c = new ServiceCluster(Docs(Service("web", "  clusterIP: None\n  ports: [{name: http, port: 80}]"), WebSlice("web")));
        Assert.Equal(0, c.Snapshot.Services.Frontends.Count);
    }

    [Fact]
    public void TerminatingBackendKeepsItsConnectionsButGetsNoNewOnes()
    {
        using var c = new ServiceCluster(Docs(Web, WebSlice("web")));
        // Find a connection that landed on web-1, then mark web-1 terminating.
        ushort sport = 0;
        for (ushort s = 30000; sport == 0; s++)
            if (c.Send("prod/client", "198.18.50.10", 80, s).Out!.Dst == "10.0.1.10") sport = s;
        c.Swap(Docs(Web, WebSlice("web", web1: "{ready: false, serving: true, terminating: true}")));

        var (m, o) = c.Send("prod/client", "198.18.50.10", 80, sport, tcpFlags: 0x10);
        Assert.Equal(CtState.Established, m.CtState);
        Assert.Equal("10.0.1.10", o!.Dst);
        for (int i = 0; i < 500; i++)
            Assert.NotEqual("10.0.1.10", c.Send("prod/client", "198.18.50.10", 80, (ushort)(50000 + i)).Out!.Dst);
    }

    [Fact]
    public void RandomAlgorithmSpreadsToo()
    {
        using var c = new ServiceCluster(Docs(Service("web", "  clusterIP: 198.18.50.10\n  ports: [{name: http, port: 80}]", "{service.cilium.io/lb-algorithm: random}"), WebSlice("web")));
        Assert.Empty(c.Snapshot.Services.Sets[1].Ring);
        var seen = new HashSet<string>();
        for (int i = 0; i < 300; i++) seen.Add(c.Send("prod/client", "198.18.50.10", 80, (ushort)(20000 + i)).Out!.Dst);
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public void DataplaneNodeDefaultAlgorithmAndTableSizeApply()
    {
        using var c = new ServiceCluster(Docs(Service("web", "  clusterIP: 198.18.50.10\n  ports: [{name: http, port: 80}]"), WebSlice("web")),
            dataplaneSpecExtra: "  loadBalancing: {algorithm: maglev, maglevTableSize: 1021}\n");
        Assert.Equal(1021, c.Snapshot.Services.Sets[1].Ring.Length);
    }

    [Fact]
    public void SessionAffinityPinsAClientToOneBackend()
    {
        var sticky = Service("web", "  clusterIP: 198.18.50.10\n  sessionAffinity: ClientIP\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n  ports: [{name: http, port: 80}]",
            "{service.cilium.io/lb-algorithm: random}");
        using var c = new ServiceCluster(Docs(sticky, WebSlice("web")));
        var first = c.Send("prod/client", "198.18.50.10", 80, 20000).Out!.Dst;
        for (int i = 1; i < 200; i++)
            Assert.Equal(first, c.Send("prod/client", "198.18.50.10", 80, (ushort)(20000 + i)).Out!.Dst);
        // Other clients are balanced independently: over many client addresses every backend is used.
        var seen = new HashSet<string>();
        for (int i = 0; i < 200; i++)
            seen.Add(c.Send($"198.18.7.{i + 1}", "198.18.50.10", 80, 20000).Out!.Dst);
        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public void AffinityMovesWhenItsBackendTerminates()
    {
        var sticky = Service("web", "  clusterIP: 198.18.50.10\n  sessionAffinity: ClientIP\n  ports: [{name: http, port: 80}]");
        using var c = new ServiceCluster(Docs(sticky, WebSlice("web")));
        var first = c.Send("prod/client", "198.18.50.10", 80, 20000).Out!.Dst;
        string? Cond(string ip) => ip == first ? "{ready: false, terminating: true}" : null;
        c.Swap(Docs(sticky, WebSlice("web", Cond("10.0.1.10"), Cond("10.0.1.11"), Cond("10.0.2.10"))));
        var second = c.Send("prod/client", "198.18.50.10", 80, 20001).Out!.Dst;
        Assert.NotEqual(first, second);
        for (int i = 2; i < 50; i++) Assert.Equal(second, c.Send("prod/client", "198.18.50.10", 80, (ushort)(20000 + i)).Out!.Dst);
    }
}
