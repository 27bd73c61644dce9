namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// toServices as Cilium's policy watcher applies it: a Service without a selector (its endpoints written by hand,
/// typically outside the cluster) named by k8sService or matched by k8sServiceSelector opens its endpoints'
/// addresses; a Service with a selector is not selectable.
/// </summary>
public class ToServicesTests
{
    private const string Services = """
        apiVersion: networking.k8s.io/v1
        kind: ServiceCIDR
        metadata: {name: kubernetes}
        spec: {cidrs: [10.96.0.0/24]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ext-db, namespace: prod, labels: {external: "yes"}}
        spec: {ports: [{name: pg, port: 5432, protocol: TCP}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: ext-db-1, namespace: prod, labels: {kubernetes.io/service-name: ext-db}}
        addressType: IPv4
        endpoints: [{addresses: ["203.0.113.20"]}, {addresses: ["203.0.113.21"]}]
        ports: [{name: pg, port: 5432, protocol: TCP}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: prod, labels: {external: "yes"}}
        spec: {selector: {app: api}, ports: [{port: 80, protocol: TCP}]}
        ---

        """;

    private static string Cnp(string egress) =>
        Services + "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: prod}\n"
        + "spec:\n  endpointSelector: {matchLabels: {app: web}}\n  egress: [" + egress + "]\n";

    [Fact]
    public void K8sServiceOpensTheEndpointsOfASelectorlessService()
    {
        using var c = new PolicyCluster(Cnp("{toServices: [{k8sService: {serviceName: ext-db, namespace: prod}}]}"));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.20", "tcp", 5432)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.21", "udp", 9)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.22", "tcp", 5432)));
        // Through the Service's cluster IP (services need connection tracking): DNAT first, then policy on the
        // backend, as in Cilium.
        using var tracked = new PolicyCluster(Cnp("{toServices: [{k8sService: {serviceName: ext-db, namespace: prod}}]}"), conntrackFlows: 64);
        var clusterIp = tracked.Model.Services.Single(s => s.Name == "ext-db").ClusterIps[0].ToString();
        var viaService = tracked.Send("prod/web", clusterIp, "tcp", 5432);
        Assert.True(PolicyCluster.Outcome(viaService) == Expect.Allow, $"{clusterIp}: dst identity {viaService.DstIdentity} {viaService.Verdict} {viaService.DropReason}");
    }

    [Fact]
    public void K8sServiceSelectorMatchesServiceLabelsAndPortsStillApply()
    {
        using var c = new PolicyCluster(Cnp(
            "{toServices: [{k8sServiceSelector: {selector: {matchLabels: {external: \"yes\"}}}}], toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]}"));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.21", "tcp", 5432)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.21", "tcp", 5433)));
        // The api Service has a selector: not selectable, so its pod stays closed.
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "prod/api", "tcp", 80)));
    }

    [Fact]
    public void AServiceInAnotherNamespaceOrUnknownOpensNothing()
    {
        using var c = new PolicyCluster(Cnp("{toServices: [{k8sService: {serviceName: ext-db, namespace: dev}}, {k8sService: {serviceName: nope, namespace: prod}}]}"));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.20", "tcp", 5432)));
        // An empty namespace matches the service wherever it is (Cilium's serviceRefMatches).
        using var any = new PolicyCluster(Cnp("{toServices: [{k8sService: {serviceName: ext-db}}]}"));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(any.Send("prod/web", "203.0.113.20", "tcp", 5432)));
    }

    [Fact]
    public void AnEntryNamesExactlyOneWayToSelect()
    {
        var e = Assert.Throws<Dataplane.Control.Config.ConfigException>(() => new PolicyCluster(Cnp(
            "{toServices: [{k8sService: {serviceName: ext-db}, k8sServiceSelector: {selector: {}}}]}")).Dispose());
        Assert.Contains("exactly one of k8sService or k8sServiceSelector", e.Message);
    }
}
