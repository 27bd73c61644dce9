using Dataplane.Core.Packets;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// The ClusterIP/Maglev slice of services through both pipelines, conntrack on: new connections to the VIP from
/// many client ports (Maglev spreads them over web-1 and web-2, both on this node), the backends'
/// replies (reverse DNAT), established packets, UDP, IPv6, and a service without backends (158). Every packet
/// must leave both pipelines with the same bytes, verdict, drop reason and metadata; a difference prints the
/// packet in hex.
/// </summary>
public class ServiceDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    private static readonly string Docs = ServiceYaml.Docs(
        // web-3 (node-b) not ready: every backend is on this node (a remote one would be SNATed for outside
        // clients, which the program does not do).
        ServiceYaml.Web, ServiceYaml.WebSlice("web", web3: "{ready: false}"),
        """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-v6, namespace: prod, labels: {kubernetes.io/service-name: web}}
        addressType: IPv6
        ports: [{name: http, port: 8080, protocol: TCP}]
        endpoints:
        - {addresses: ["fd00:1::10"], nodeName: node-a}
        - {addresses: ["fd00:1::11"], nodeName: node-a}
        """,
        // Same backends over UDP.
        ServiceYaml.Service("dns", "  clusterIP: 198.18.50.11\n  ports: [{name: http, port: 53, targetPort: 8080, protocol: UDP}]",
            "{service.cilium.io/lb-algorithm: maglev}"),
        """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: dns-a, namespace: prod, labels: {kubernetes.io/service-name: dns}}
        addressType: IPv4
        ports: [{name: http, port: 8080, protocol: UDP}]
        endpoints:
        - {addresses: [10.0.1.10], nodeName: node-a}
        - {addresses: [10.0.1.11], nodeName: node-a}
        """,
        // An external IP reached from outside (eth0): the same frontend lookup, a client that is no pod.
        ServiceYaml.Service("ext", "  clusterIP: 198.18.50.13\n  externalIPs: [198.18.61.1]\n  ports: [{name: http, port: 80, targetPort: http}]",
            "{service.cilium.io/lb-algorithm: maglev}"),
        ServiceYaml.WebSlice("ext", web3: "{ready: false}"),
        ServiceYaml.Service("empty", "  clusterIP: 198.18.50.12\n  ports: [{name: http, port: 80}]", "{service.cilium.io/lb-algorithm: maglev}"));

    private static void Same(DualPipeline dual, byte[] frame, ushort inPort, uint now)
    {
        string? diff = dual.Compare(frame, inPort, now);
        Assert.True(diff == null, diff);
    }

    private static (byte[] Frame, ushort InPort) Frame(ServiceCluster c, string from, string src, string dst, ushort sport, ushort dport,
        byte flags, bool udp, bool v6)
    {
        var f = c.From(from);
        byte[] l4 = udp ? PacketBuilder.Udp(sport, dport, [1, 2, 3, 4, 5]) : PacketBuilder.Tcp(sport, dport, flags, payload: 5);
        byte proto = udp ? (byte)17 : (byte)6;
        var frame = v6
            ? PacketBuilder.Eth6(PacketBuilder.Ipv6(src, dst, proto, l4), f.DstMac, f.Mac)
            : PacketBuilder.Eth4(PacketBuilder.Ipv4(src, dst, proto, l4), f.DstMac, f.Mac);
        return (frame, f.Port);
    }

    /// <summary>The pod with this address ("ns/name"), or the address itself (a remote backend, via eth0).</summary>
    private static string Who(ServiceCluster c, string ip) =>
        c.Model.Pods.FirstOrDefault(p => p.Ips.Any(a => a.ToString() == ip)) is { } pod ? $"{pod.Namespace}/{pod.Name}" : ip;

    [SkippableTheory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    public void ForwardRepliesAndEstablishedPacketsMatchPacketForPacket(bool v6, bool udp, bool outside)
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(Docs);
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 4_000_000;
        string from = outside ? "198.18.7.7" : "prod/client";
        string client = c.Ip(from, v6);
        string vip = outside ? "198.18.61.1" : udp ? "198.18.50.11" : v6 ? "2001:db8:50::10" : "198.18.50.10";
        ushort port = udp ? (ushort)53 : (ushort)80;
        var backends = new HashSet<string>();
        for (ushort sport = 41000; sport < 41024; sport++)
        {
            var (syn, inPort) = Frame(c, from, client, vip, sport, port, 0x02, udp, v6);
            Same(dual, syn, inPort, t);
            var (meta, output) = dual.LastCsharp;
            Assert.Equal(PacketVerdict.Tx, meta.Verdict);
            var wire = Wire.Read(output);
            Assert.Equal(8080, wire.DstPort);
            Assert.True(wire.ChecksumsOk);
            backends.Add(wire.Dst);

            // The backend answers from its own address; the client sees the VIP.
            var (reply, replyPort) = Frame(c, Who(c, wire.Dst), wire.Dst, client, 8080, sport, 0x12, udp, v6);
            Same(dual, reply, replyPort, t + 1);
            Assert.Equal(PacketVerdict.Tx, dual.LastCsharp.Meta.Verdict);
            var back = Wire.Read(dual.LastCsharp.Output);
            Assert.Equal((vip, port), (back.Src, back.SrcPort));

            var (ack, _) = Frame(c, from, client, vip, sport, port, 0x10, udp, v6);
            Same(dual, ack, inPort, t + 2);
        }
        // Maglev spread the client ports over more than one backend (and the BPF side picked the same ones).
        Assert.True(backends.Count >= 2, string.Join(", ", backends));
    }

    [SkippableFact]
    public void ServiceWithoutBackendsDrops158OnBothSides()
    {
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(Docs);
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        for (ushort sport = 42000; sport < 42004; sport++)
        {
            var (syn, inPort) = Frame(c, "prod/client", c.Ip("prod/client"), "198.18.50.12", sport, 80, 0x02, false, false);
            Same(dual, syn, inPort, 5_000_000);
            Assert.Equal(158, dual.LastBpf!.Verdict.DropReason);
        }
    }
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class ServiceDifferentialTcTests(TcDatapathFixture fixture) : ServiceDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
