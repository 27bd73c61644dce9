using Dataplane.Control.Config;
using Dataplane.Control.Compiler;

namespace Dataplane.Core.Tests.Policy;

/// <summary>A policy-only change reuses the running snapshot's LPM tables; a route change rebuilds them.</summary>
public class RouteTableReuseTests
{
    private const string Policy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
        """;

    [Fact]
    public void PolicyChangeSharesRoutingTablesRouteChangeDoesNot()
    {
        var first = SnapshotCompiler.Compile(ConfigLoader.Load([("base.yaml", PolicyCluster.Base)]));
        var policyOnly = SnapshotCompiler.Compile(
            ConfigLoader.Load([("base.yaml", PolicyCluster.Base), ("policy.yaml", Policy)]), 2, previous: first);
        Assert.Same(first.Routes4, policyOnly.Routes4);
        Assert.Same(first.Routes6, policyOnly.Routes6);
        Assert.NotSame(first.Policy, policyOnly.Policy);

        var moved = PolicyCluster.Base.Replace("status: {podIPs: [{ip: 10.0.1.10}, {ip: \"fd00:1::10\"}]}",
            "status: {podIPs: [{ip: 10.0.1.11}, {ip: \"fd00:1::10\"}]}");
        Assert.NotEqual(PolicyCluster.Base, moved);
        var rerouted = SnapshotCompiler.Compile(ConfigLoader.Load([("base.yaml", moved)]), 3, previous: policyOnly);
        Assert.NotSame(policyOnly.Routes4, rerouted.Routes4);
        Assert.True(rerouted.Routes4.TryLookup(0x0A00010B, out var nh));   // 10.0.1.11 → the web pod
        Assert.Equal(Core.Routing.NextHopKind.Endpoint, rerouted.NextHops[nh].Kind);
    }
}
