using Dataplane.Control.Config;
using Dataplane.Control.Compiler;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// A policy-only change, or pods coming, going and changing address (a CNI ADD/DEL), reuses the running
/// snapshot's LPM tables: pods are found in the snapshot's endpoint address table, not as host routes. A route
/// change rebuilds them.
/// </summary>
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
    public void PolicyAndPodChangesShareRoutingTablesRouteChangeDoesNot()
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
        var podMoved = SnapshotCompiler.Compile(ConfigLoader.Load([("base.yaml", moved)]), 3, previous: policyOnly);
        Assert.Same(policyOnly.Routes4, podMoved.Routes4);
        Assert.Same(policyOnly.Routes6, podMoved.Routes6);
        Assert.True(podMoved.LocalHosts.TryFind4(0x0A00010B, out var nh));   // 10.0.1.11 → the web pod
        Assert.Equal(Core.Routing.NextHopKind.Endpoint, podMoved.NextHops[nh].Kind);
        Assert.Equal("web", podMoved.Endpoints[podMoved.NextHops[nh].Endpoint]!.Name);
        Assert.False(podMoved.LocalHosts.TryFind4(0x0A00010A, out _));        // 10.0.1.10: nobody now

        var widened = moved.Replace("10.0.1.0/24", "10.0.0.0/23");
        Assert.NotEqual(moved, widened);
        var rerouted = SnapshotCompiler.Compile(ConfigLoader.Load([("base.yaml", widened)]), 4, previous: podMoved);
        Assert.NotSame(podMoved.Routes4, rerouted.Routes4);
    }
}
