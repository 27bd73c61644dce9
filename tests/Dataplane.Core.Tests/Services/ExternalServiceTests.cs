using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using static Dataplane.Testing.Fixtures.ServiceYaml;

namespace Dataplane.Core.Tests.Services;

/// <summary>
/// NodePort, LoadBalancer and external IPs reached from outside (eth0), with externalTrafficPolicy and
/// internalTrafficPolicy Local. A remote backend reached from outside is DNATed and SNATed to the node, so the
/// reply comes back here and leaves from the frontend.
/// </summary>
public sealed class ExternalServiceTests
{
    private const string Client = "198.18.7.7";

    private static string WebSvc(string type, string extra = "", string nodePort = "") => Service("web",
        $"  type: {type}\n  clusterIP: 198.18.50.10\n  externalIPs: [198.18.61.1]\n{extra}  ports: [{{name: http, port: 80, targetPort: 8080{nodePort}}}]",
        "{service.cilium.io/lb-algorithm: maglev}");

    private static string LbStatus => "\n---\n" + """
        apiVersion: v1
        kind: Service
        metadata: {name: web-lb, namespace: prod}
        spec:
          type: LoadBalancer
          clusterIP: 198.18.50.11
          externalTrafficPolicy: Local
          ports: [{name: http, port: 80, nodePort: 30081}]
        status: {loadBalancer: {ingress: [{ip: 198.18.60.1}, {hostname: lb.example}]}}
        """ + "\n---\n" + WebSlice("web-lb");

    [Fact]
    public void NodePortOnTheNodeAddressReachesEveryBackendAndRepliesLeaveFromTheNodePort()
    {
        using var c = new ServiceCluster(Docs(WebSvc("NodePort", nodePort: ", nodePort: 30080"), WebSlice("web")));
        var dsts = new HashSet<string>();
        for (ushort sport = 1000; sport < 1300; sport++)
        {
            var (m, o) = c.Send(Client, "198.18.0.1", 30080, sport);
            Assert.Equal(PacketVerdict.Tx, m.Verdict);
            Assert.True(o!.ChecksumsOk);
            dsts.Add(o.Dst);
            if (o.Dst != "10.0.2.10")
            {
                Assert.Equal(Client, o.Src);      // local backend: the client's address is preserved
                continue;
            }
            // Remote backend: SNATed to the node so the reply returns through us.
            Assert.Equal("198.18.0.1", o.Src);
            Assert.Equal(ServiceCluster.NodeBMac, o.DstMac);
            var (rm, r) = c.Send("10.0.2.10", "198.18.0.1", o.SrcPort, sport: 8080, tcpFlags: 0x12, srcIp: "10.0.2.10");
            Assert.Equal(PacketVerdict.Tx, rm.Verdict);
            Assert.Equal(("198.18.0.1", (ushort)30080, Client, sport), (r!.Src, r.SrcPort, r.Dst, r.DstPort));
            Assert.True(r.ChecksumsOk);
            Assert.Equal(ServiceCluster.GatewayMac, r.DstMac);
            // And the connection's next packet takes the same two translations.
            var (_, again) = c.Send(Client, "198.18.0.1", 30080, sport, tcpFlags: 0x10);
            Assert.Equal(("198.18.0.1", o.SrcPort, "10.0.2.10"), (again!.Src, again.SrcPort, again.Dst));
        }
        Assert.Equal(3, dsts.Count);
        // The ClusterIP works from pods too, and the NodePort is a frontend on IPv4 node addresses only here.
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/client", "198.18.50.10", 80).Meta.Verdict);
    }

    [Fact]
    public void ExternalIpIsAFrontend()
    {
        using var c = new ServiceCluster(Docs(WebSvc("ClusterIP"), WebSlice("web")));
        var (m, o) = c.Send(Client, "198.18.61.1", 80, 1234);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(8080, o!.DstPort);
    }

    [Fact]
    public void LoadBalancerWithExternalTrafficPolicyLocalUsesOnlyLocalBackends()
    {
        using var c = new ServiceCluster(Docs(WebSvc("ClusterIP"), WebSlice("web")) + LbStatus);
        for (ushort sport = 2000; sport < 2300; sport++)
        {
            // Distinct source ports: one client port to one backend port is one connection, whatever VIP it used.
            Assert.NotEqual("10.0.2.10", c.Send(Client, "198.18.60.1", 80, sport).Out!.Dst);
            Assert.NotEqual("10.0.2.10", c.Send(Client, "198.18.0.1", 30081, (ushort)(sport + 1000)).Out!.Dst);
        }
        // The ClusterIP of the same service keeps the cluster-wide set (internalTrafficPolicy Cluster).
        var seen = new HashSet<string>();
        for (ushort sport = 3000; sport < 3300; sport++) seen.Add(c.Send("prod/client", "198.18.50.11", 80, sport).Out!.Dst);
        Assert.Contains("10.0.2.10", seen);
    }

    [Fact]
    public void ExternalTrafficPolicyLocalWithoutLocalBackendsDrops158()
    {
        var svc = Service("remote", "  type: NodePort\n  clusterIP: 198.18.50.12\n  externalTrafficPolicy: Local\n  ports: [{name: http, port: 80, nodePort: 30082}]");
        var slice = WebSlice("remote", "{ready: false}", "{ready: false}");
        using var c = new ServiceCluster(Docs(svc, slice));
        Assert.Equal(DropReason.ServiceBackendNotFound, c.Send(Client, "198.18.0.1", 30082, 999).Meta.DropReason);
        // Cluster-internal traffic to the ClusterIP still reaches the remote backend.
        Assert.Equal("10.0.2.10", c.Send("prod/client", "198.18.50.12", 80).Out!.Dst);
    }

    [Fact]
    public void InternalTrafficPolicyLocalKeepsPodTrafficOnTheNode()
    {
        var svc = Service("web", "  clusterIP: 198.18.50.10\n  internalTrafficPolicy: Local\n  ports: [{name: http, port: 80}]");
        using var c = new ServiceCluster(Docs(svc, WebSlice("web")));
        for (ushort sport = 2000; sport < 2200; sport++)
            Assert.NotEqual("10.0.2.10", c.Send("prod/client", "198.18.50.10", 80, sport).Out!.Dst);
        c.Swap(Docs(svc, WebSlice("web", "{ready: false}", "{ready: false}")));
        Assert.Equal(DropReason.ServiceBackendNotFound, c.Send("prod/client", "198.18.50.10", 80, 5555).Meta.DropReason);
    }
}
