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
    /// backend's node routes back through the tunnel. Pod-to-pod by address stays in the own cluster; the other
    /// cluster's pods are reached pod to pod under its translated range (c2's web-b as 198.18.212.20 from c1, c1's
    /// web-a as 198.18.211.20 from c2). Policy stays
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
            // Pod to pod across the overlap, through the other cluster's translated range (TCP; port kept).
            Assert.Equal("web-b", DirectHit(topo, "client-a", topo.Translated("web-b"), "web-a", "web-b"));
            Assert.Equal("web-a", DirectHit(topo, "client-b", topo.Translated("web-a"), "web-a", "web-b"));

            OnlyClusterC2AdmittedToWebOnNodeB(topo);
            // The other direction is not selected by that policy.
            Assert.Equal(("web-a", 2), ServiceHits(topo, "client-b", 2, "web-a", "web-b"));
        }
        finally { Report(topo); }
    }

    /// <summary>One TCP echo from <paramref name="client"/> to <paramref name="address"/>:5001; which of the servers answered
    /// ("none" when the connection failed, "mixed" when several did).</summary>
    private static string DirectHit(MeshTopology topo, string client, string address, params string[] servers)
    {
        var started = servers.Select(b => (Name: b, Server: topo.Start(topo[b].Ns, "python3", Echo, "tcp-server", MeshTopology.BackendPort.ToString(System.Globalization.CultureInfo.InvariantCulture)))).ToList();
        try
        {
            foreach (var (name, s) in started) Assert.True(s.WaitFor("listening", Short), $"{name}: {s.Output}");
            var c = topo.Exec(topo[client].Ns, Short, "python3", Echo, "tcp-client", address,
                MeshTopology.BackendPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "1000");
            if (!(c.Ok && c.Output.Contains("echoed 1000"))) return "none";
            var served = started.Where(s => Served().IsMatch(s.Server.Output)).Select(s => s.Name).ToList();
            return served.Count == 1 ? served[0] : "mixed";
        }
        finally
        {
            foreach (var (_, s) in started) s.Dispose();
        }
    }
}
