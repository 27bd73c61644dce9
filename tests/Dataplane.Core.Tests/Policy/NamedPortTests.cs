using Dataplane.Core.Packets;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// Named ports in NetworkPolicy and CiliumNetworkPolicy, as Cilium resolves them: ingress on the selected pod's own
/// container ports — two pods of one app numbering "http" 8080 and 8081 each open only their own number — and
/// egress on every pod's numbers for the name.
/// </summary>
public sealed class NamedPortTests
{
    private const string Pods = """
        apiVersion: v1
        kind: Pod
        metadata: {name: shop-1, namespace: prod, labels: {app: shop}}
        spec: {nodeName: node-a, containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]}]}
        status: {podIPs: [{ip: 10.0.1.60}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: shop-2, namespace: prod, labels: {app: shop}}
        spec: {nodeName: node-a, containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8081}]}]}
        status: {podIPs: [{ip: 10.0.1.61}]}
        """;

    private const string IngressByName = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: shop-http, namespace: prod}
        spec:
          podSelector: {matchLabels: {app: shop}}
          policyTypes: [Ingress]
          ingress: [{ports: [{port: http, protocol: TCP}]}]
        """;

    [Theory]
    [InlineData("prod/shop-1", 8080, Expect.Allow)]
    [InlineData("prod/shop-1", 8081, Expect.NoAllow)]
    [InlineData("prod/shop-2", 8081, Expect.Allow)]
    [InlineData("prod/shop-2", 8080, Expect.NoAllow)]
    public void IngressNamedPortOpensEachPodsOwnNumber(string to, int port, Expect expect)
    {
        using var c = new PolicyCluster(Pods + "\n---\n" + IngressByName);
        Assert.Equal(expect, PolicyCluster.Outcome(c.Send("prod/client", to, "tcp", port)));
    }

    [Fact]
    public void TheNameIsPerProtocolAndANameNoPodHasOpensNothing()
    {
        string policy = IngressByName.Replace("[{port: http, protocol: TCP}]", "[{port: dns, protocol: UDP}, {port: grpc, protocol: TCP}]");
        using var c = new PolicyCluster(Pods + "\n---\n" + policy);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/client", "prod/shop-1", "udp", 53)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/client", "prod/shop-1", "tcp", 53)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/client", "prod/shop-2", "udp", 53)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/client", "prod/shop-2", "tcp", 8081)));
    }

    [Theory]
    [InlineData("prod/shop-1", 8080, Expect.Allow)]
    [InlineData("prod/shop-2", 8081, Expect.Allow)]
    [InlineData("prod/shop-1", 8081, Expect.Allow)]   // egress: any number the name has on some pod (Cilium's multimap)
    [InlineData("prod/shop-1", 9000, Expect.NoAllow)]
    public void EgressNamedPortAllowsTheNumbersTheNameHas(string to, int port, Expect expect)
    {
        const string egress = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: client-out, namespace: prod}
            spec:
              endpointSelector: {matchLabels: {app: client, role: frontend}}
              egress:
              - toEndpoints: [{matchLabels: {app: shop}}]
                toPorts: [{ports: [{port: http}]}]
            """;
        using var c = new PolicyCluster(Pods + "\n---\n" + egress);
        Assert.Equal(expect, PolicyCluster.Outcome(c.Send("prod/client", to, "tcp", port)));
    }
}
