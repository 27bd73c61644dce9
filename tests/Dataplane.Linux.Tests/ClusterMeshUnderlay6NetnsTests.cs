using Dataplane.Linux.Tests.Support;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Cluster Mesh over an IPv6-only underlay: the two clusters' nodes have only 2001:db8:18::1 and ::2 on the link
/// between them (no IPv4 address, no IPv4 route), their InternalIPs are those, and the pods (IPv4) reach each other
/// through VXLAN carried in IPv6 — or, with the nodes set to <c>overlay.mode: srv6</c>, through SRv6 H.Encaps to the
/// other node's End.DT46 SID, which each node publishes in its Node record.
/// </summary>
public sealed partial class ClusterMeshNetnsTests
{
    /// <summary>
    /// VXLAN in IPv6 between clusters: pings both ways, the global service (affinity remote) from c1 served by c2's
    /// web-b, c2's pod admitted to db-a by its cluster identity (carried in the VNI), and a policy on node-b admitting
    /// only cluster c2 to web stops c1's client there (POLICY_DENIED on node-b, none on node-a). A capture on node-b's
    /// underlay sees the pods' traffic only as IPv6 UDP to 8472.
    /// </summary>
    [SkippableFact]
    public async Task Ipv6UnderlayVxlanBetweenClustersServicesAndPolicyByIdentity() => await OverIpv6Underlay(MeshUnderlay.Vxlan6);

    /// <summary>
    /// The same over SRv6 (both nodes <c>overlay.mode: srv6</c> with an End.DT46 SID): our agents encapsulate and
    /// decapsulate themselves, so no kernel seg6 support is needed. The capture sees IPv6 packets with a Segment
    /// Routing Header addressed to node-b's SID, and no VXLAN. Identities come from the ipcache (no VNI in SRv6).
    /// </summary>
    [SkippableFact]
    public async Task Srv6OverlayBetweenClustersServicesAndPolicyByIdentity() => await OverIpv6Underlay(MeshUnderlay.Srv6);

    private async Task OverIpv6Underlay(MeshUnderlay underlay)
    {
        RequireTools();
        Requires.RootAnd("tcpdump");
        await using var topo = await Meshed(affinity: "remote", underlay: underlay);
        try
        {
            // What crosses node-b's underlay while the pods talk: every line the capture prints is one packet.
            string filter = underlay == MeshUnderlay.Srv6 ? $"ip6 dst {MeshTopology.Srv6Sid("node-b")}" : "udp port 8472";
            using var capture = topo.Start(topo.NsB, "tcpdump", "-l", "-n", "-i", topo.UnderlayIf("node-b"), "-Q", "in", filter);
            Thread.Sleep(1000);   // tcpdump attaches its socket

            Ping(topo, "client-a", topo["web-b"].Ip);
            Ping(topo, "client-b", topo["web-a"].Ip);
            Assert.True(Eventually(() => ServiceHits(topo, "client-a", 1, "web-a", "web-b").Backend == "web-b"), "c1 → service never reached c2's web-b");
            Assert.Equal(("web-b", 3), ServiceHits(topo, "client-a", 3, "web-a", "web-b"));

            // db-a admits cluster c2's pods only: c2's client crosses the tunnel with its c2 identity and is let in.
            var db = topo.Start(topo["db-a"].Ns, "python3", Echo, "tcp-server", "5001");
            Assert.True(db.WaitFor("listening", Short), db.Output);
            var allowed = topo.Exec(topo["client-b"].Ns, Short, "python3", Echo, "tcp-client", topo["db-a"].Ip, "5001", "20000");
            Assert.True(allowed.Ok && allowed.Output.Contains("echoed 20000"), $"c2 pod → db-a: {allowed.Output}");

            Thread.Sleep(500);
            capture.Dispose();
            var lines = capture.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => char.IsDigit(l[0])).ToList();   // packet lines start with the timestamp
            output.WriteLine($"node-b underlay, {lines.Count} packet(s) in, e.g.:\n" + string.Join("\n", lines.Take(4)));
            Assert.True(lines.Count >= 6, $"too few tunnelled packets on node-b's underlay:\n{capture.Output}");
            Assert.All(lines, l => Assert.Contains(" IP6 ", l));
            if (underlay == MeshUnderlay.Srv6)
                Assert.Contains(lines, l => l.Contains("RT6", StringComparison.Ordinal) || l.Contains("srcrt", StringComparison.Ordinal));
            // The underlay link carries no IPv4 at all: the nodes have no IPv4 address there.
            Assert.DoesNotContain("inet ", Sh.Must("ip", "-n", topo.NsA, "addr", "show", "dev", topo.UnderlayIf("node-a")));

            // A policy on node-b admitting only cluster c2 to web: c1's client is refused there, by identity.
            OnlyClusterC2AdmittedToWebOnNodeB(topo);
            // c2's own client still reaches web-a in c1 (that policy selects node-b's pods only).
            Ping(topo, "client-b", topo["web-a"].Ip);
        }
        finally { Report(topo); }
    }
}
