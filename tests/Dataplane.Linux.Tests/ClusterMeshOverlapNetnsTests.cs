using Dataplane.Linux.Tests.Support;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Cluster Mesh between clusters with the same pod CIDR (<c>enableOverlappingPodCIDRSupport</c>): both clusters use
/// 198.18.110.0/24 and their pods the same addresses (client .10, web .20), so nothing can be routed by address alone.
/// </summary>
public sealed partial class ClusterMeshNetnsTests
{
    /// <summary>
    /// The global service (affinity remote) from cluster c1 reaches c2's web-b — not c1's web-a, which has the same
    /// address — and from c2 reaches c1's web-a, not web-b: each backend of the other cluster is routed by (cluster,
    /// address) through the tunnel to its node and the connection SNATed to the client's node address, which the
    /// backend's node routes back through the tunnel. Pod-to-pod by address stays in the own cluster. Policy stays
    /// by identity: a policy on node-b admitting only cluster c2 to web-b denies c1's client there (POLICY_DENIED
    /// counted on node-b, none on node-a) while c2's client still reaches web-a in c1.
    /// </summary>
    [SkippableFact]
    public async Task OverlappingPodCidrsGlobalServiceBothWaysPolicyByIdentity()
    {
        RequireTools();
        await using var topo = await Meshed(affinity: "remote", overlapping: true);
        try
        {
            Assert.Equal(topo["web-a"].Ip, topo["web-b"].Ip);
            Assert.Equal(topo["client-a"].Ip, topo["client-b"].Ip);
            Assert.True(Eventually(() => ServiceHits(topo, "client-a", 1, "web-a", "web-b").Backend == "web-b"), "c1 → service never reached c2's web-b");
            Assert.Equal(("web-b", 3), ServiceHits(topo, "client-a", 3, "web-a", "web-b"));
            Assert.True(Eventually(() => ServiceHits(topo, "client-b", 1, "web-a", "web-b").Backend == "web-a"), "c2 → service never reached c1's web-a");
            Assert.Equal(("web-a", 3), ServiceHits(topo, "client-b", 3, "web-a", "web-b"));
            // An address is its own cluster's pod: client-a pinging .20 reaches web-a (node-b sees none of it).
            Ping(topo, "client-a", topo["web-a"].Ip);

            File.WriteAllText(Path.Combine(topo.ConfigDir("node-b"), "policy.yaml"), """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: web-from-c2, namespace: default}
                spec:
                  endpointSelector: {matchLabels: {app: web}}
                  ingress:
                  - fromEndpoints: [{matchLabels: {io.cilium.k8s.policy.cluster: c2}}]
                """);
            Assert.True(Eventually(() => ServiceHits(topo, "client-a", 1, "web-a", "web-b").Backend == "none"),
                "c1's client still reached web-b after node-b's policy admitted only c2");
            topo.WaitStatus("node-b", s => s.DropsByReason.Keys.Any(k => k.StartsWith("POLICY_DENIED", StringComparison.Ordinal)),
                "a policy drop on node-b");
            Assert.DoesNotContain(topo.Status("node-a")!.DropsByReason.Keys, k => k.StartsWith("POLICY_DENIED", StringComparison.Ordinal));
            // The other direction is not selected by that policy.
            Assert.Equal(("web-a", 2), ServiceHits(topo, "client-b", 2, "web-a", "web-b"));
        }
        finally { Report(topo); }
    }
}
