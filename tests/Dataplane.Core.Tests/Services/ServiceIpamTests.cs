using System.Net;
using Dataplane.Control.Config;
using Dataplane.Core.Packets;

namespace Dataplane.Core.Tests.Services;

/// <summary>
/// Services as upstream manifests write them, without clusterIP or nodePort: the addresses come from the
/// ServiceCIDR as the API server gives them, stay the same across loads, and the service answers at them.
/// </summary>
public sealed class ServiceIpamTests
{
    private const string Cidrs = """
        apiVersion: networking.k8s.io/v1
        kind: ServiceCIDR
        metadata: {name: kubernetes}
        spec: {cidrs: [198.18.240.0/24, "fd00:5e::/112"]}
        """;

    private static string Svc(string name, string extra = "") => $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{name}}, namespace: prod}
        spec:
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        {{extra}}
        """;

    private static ServiceSpec Find(ServiceCluster c, string name) => c.Model.Services.Single(s => s.Name == name);

    [Fact]
    public void AServiceWithoutClusterIpGetsOneFromTheServiceCidrAndAnswersAtIt()
    {
        using var c = new ServiceCluster(Cidrs + "\n---\n" + Svc("shop"));
        var ip = Assert.Single(Find(c, "shop").ClusterIps);
        Assert.True(IPNetwork.Parse("198.18.240.0/24").Contains(ip) && !ip.Equals(IPAddress.Parse("198.18.240.0")) && !ip.Equals(IPAddress.Parse("198.18.240.255")));

        var (syn, o) = c.Send("prod/client", ip.ToString(), 80, sport: 45000);
        Assert.Equal(PacketVerdict.Tx, syn.Verdict);
        Assert.Contains(o!.Dst, new[] { "10.0.1.10", "10.0.1.11", "10.0.2.10" });
        Assert.Equal(8080, o.DstPort);
    }

    [Fact]
    public void TheAddressIsTheSameOnEveryLoadAndOthersServicesGetOthers()
    {
        using var a = new ServiceCluster(Cidrs + "\n---\n" + Svc("shop"));
        using var b = new ServiceCluster(Cidrs + "\n---\n" + Svc("shop") + "\n---\n" + Svc("cart") + "\n---\n" + Svc("pay"));
        Assert.Equal(Find(a, "shop").ClusterIps.ToArray(), Find(b, "shop").ClusterIps.ToArray());
        Assert.Equal(3, b.Model.Services.SelectMany(s => s.ClusterIps).Distinct().Count());
    }

    [Fact]
    public void IpFamilyPolicyDecidesTheFamilies()
    {
        using var c = new ServiceCluster(Cidrs + "\n---\n" + Svc("single") + "\n---\n"
            + Svc("dual", "  ipFamilyPolicy: PreferDualStack") + "\n---\n"
            + Svc("six", "  ipFamilies: [IPv6]"));
        Assert.Equal(["198.18.240"], Find(c, "single").ClusterIps.Select(Net));
        Assert.Equal(["198.18.240", "fd00:5e"], Find(c, "dual").ClusterIps.Select(Net));
        Assert.Equal(["fd00:5e"], Find(c, "six").ClusterIps.Select(Net));

        var e = Assert.Throws<ConfigException>(() => new ServiceCluster(
            Cidrs.Replace(", \"fd00:5e::/112\"", "") + "\n---\n" + Svc("dual", "  ipFamilyPolicy: RequireDualStack")));
        Assert.Contains("needs an IPv6 cluster IP and no ServiceCIDR has that family", e.Message);
    }

    [Fact]
    public void NodePortsAreAllocatedInRangeAndKeepGivenOnes()
    {
        using var c = new ServiceCluster(Cidrs + "\n---\n" + Svc("np", "  type: NodePort").Replace("ports: [{port: 80, targetPort: 8080}]",
            "ports: [{name: a, port: 80, targetPort: 8080}, {name: b, port: 81, targetPort: 8080, nodePort: 30081}]"));
        var ports = Find(c, "np").Ports;
        Assert.InRange(ports[0].NodePort, 30000, 32767);
        Assert.NotEqual(30081, ports[0].NodePort);
        Assert.Equal(30081, ports[1].NodePort);
        var (syn, _) = c.Send("198.18.0.77", "198.18.0.1", ports[0].NodePort, sport: 45001);
        Assert.Equal(PacketVerdict.Tx, syn.Verdict);
    }

    private static string Net(IPAddress ip) => ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
        ? string.Join('.', ip.ToString().Split('.')[..3]) : string.Join(':', ip.ToString().Split(':')[..2]);
}
