using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// A configuration the XDP program's maps cannot carry (here: more gateways per egress policy than dp_egw_gw holds)
/// is refused by the map filler with a clear error, before anything is written — never silently run in part;
/// every feature is otherwise offloaded and filled.
/// </summary>
public sealed class UnsupportedFeatureTests
{
    /// <summary>Nine gateway nodes (behind the default route) for one egress policy: one more than dp_egw_gw holds per policy.</summary>
    private static string NineGateways()
    {
        var docs = new List<string>();
        for (int i = 0; i < 9; i++)
            docs.Add($$$"""
                apiVersion: v1
                kind: Node
                metadata: {name: gw-{{{i}}}, labels: {gw: "yes"}}
                spec: {podCIDRs: ["10.0.{{{20 + i}}}.0/24"]}
                status: {addresses: [{type: InternalIP, address: 203.0.113.{{{20 + i}}}}]}
                """);
        docs.Add("""
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {name: egress-wide}
            spec:
              selectors: [{podSelector: {matchLabels: {app: client}}}]
              destinationCIDRs: [198.18.9.0/24]
              egressGateways: [{nodeSelector: {matchLabels: {gw: "yes"}}}]
            """);
        return ServiceYaml.Docs([.. docs]);
    }

    public static TheoryData<string, string, string> Configs => new()
    {
        { "egress gateway policy egress-wide with 9 gateways", NineGateways(), "" },
    };

    /// <summary>Service web over web-1..3 (web-3 on the remote node), port 80 → 8080, Maglev unless annotated.</summary>
    private static string Svc(string spec, string annotations = "{service.cilium.io/lb-algorithm: maglev}", string nodePort = "") =>
        ServiceYaml.Docs(ServiceYaml.Service("web", spec + $"  ports: [{{name: http, port: 80, targetPort: 8080{nodePort}}}]", annotations),
            ServiceYaml.WebSlice("web"));

    [SkippableTheory]
    [MemberData(nameof(Configs))]
    public void SnapshotWithFeaturesTheProgramLacksIsRefusedBeforeAnythingIsWritten(string feature, string docs, string nodeExtra)
    {
        DatapathFixture.RequireRoot();
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = true, ConntrackMaxEntries = 64, TestRunMetadata = true });
        using var plain = new ServiceCluster("");
        Assert.Empty(OffloadSupport.Unsupported(plain.Snapshot));
        MapFiller.Fill(dp, plain.Snapshot, _ => 0);
        Assert.True(dp.Config.TryLookup(0u, out DpConfig before));
        int routes = dp.Routes4.Keys<Lpm4Key>().Count;

        using var c = new ServiceCluster(docs, dataplaneSpecExtra: nodeExtra);
        var e = Assert.Throws<EbpfUnsupportedException>(() => MapFiller.Fill(dp, c.Snapshot, _ => 0));
        Assert.StartsWith("the eBPF maps cannot hold this configuration", e.Message);
        Assert.Contains(e.Features, f => f.Contains(feature, StringComparison.OrdinalIgnoreCase));
        Assert.True(dp.Config.TryLookup(0u, out DpConfig after));
        Assert.Equal(before.ClockOffsetNs, after.ClockOffsetNs);
        Assert.Equal(routes, dp.Routes4.Keys<Lpm4Key>().Count);
    }

    [SkippableTheory]
    [InlineData("  clusterIP: 198.18.50.10\n", "{service.cilium.io/lb-algorithm: random}", "")]
    [InlineData("  clusterIP: 198.18.50.10\n  sessionAffinity: ClientIP\n", "{service.cilium.io/lb-algorithm: maglev}", "")]
    [InlineData("  clusterIP: 198.18.50.10\n  internalTrafficPolicy: Local\n", "{service.cilium.io/lb-algorithm: maglev}", "")]
    [InlineData("  type: NodePort\n  clusterIP: 198.18.50.10\n", "{service.cilium.io/lb-algorithm: maglev}", ", nodePort: 30080")]
    [InlineData("  type: LoadBalancer\n  clusterIP: 198.18.50.10\n  externalIPs: [198.18.61.1]\n  externalTrafficPolicy: Local\n",
        "{service.cilium.io/lb-algorithm: random}", ", nodePort: 30081")]
    public void EveryServiceFeatureIsOffloadedAndItsSetsFilled(string spec, string annotations, string nodePort)
    {
        // web over web-1, web-2 (this node) and web-3 (node-b): remote backends, random rings, affinity, Local.
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster(Svc(spec, annotations, nodePort), dataplaneSpecExtra: "  masquerade: {nonMasqueradeCIDRs: [198.18.200.0/24]}\n");
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = true, ConntrackMaxEntries = 64, TestRunMetadata = true });
        MapFiller.Fill(dp, c.Snapshot, _ => 0);
        Assert.Equal(c.Snapshot.Services.Frontends.Count, dp.LbFrontends.Keys<LbFeKey>().Count);
        Assert.True(dp.LbBackends.Keys<uint>().Count >= 2);
        Assert.Equal(dp.LbBackends.Keys<uint>().Count, dp.LbMember.Keys<LbMemberKey>().Count);
    }

    [SkippableFact]
    public void ClusterScopedIdentitiesAsVnisAreRefusedNotSilentlyDropped()
    {
        // A Cluster Mesh identity of cluster 2 is valid in a received VNI for the C# pipeline; dp_vni holds 16 bits.
        using var c = new ServiceCluster("");
        var labels = new Dataplane.Core.Identity.LabelSet([new("k8s", "app", "web"),
            new("k8s", Dataplane.Core.Identity.IdentityLabels.ClusterLabel, "c2")]);
        var external = new Dataplane.Control.Compiler.ExternalIdentities(
            [new Dataplane.Core.Identity.SecurityIdentity((2u << 16) + 7, labels)], []);
        var meshed = Dataplane.Control.Compiler.SnapshotCompiler.Compile(c.Model, 2, external: external);
        Assert.True(meshed.Overlay.IsValidVni((2u << 16) + 7));
        Assert.Contains(OffloadSupport.Unsupported(meshed), f => f.Contains("Cluster Mesh identities", StringComparison.Ordinal));
        Assert.False(c.Snapshot.Overlay.HasClusterScopedIdentities);
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
    }

    [SkippableFact]
    public void LocalTrafficPolicyWithOnlyLocalBackendsDoesNotChangeSelectionAndStaysInTheSlice()
    {
        // web-3 (the remote endpoint) is not ready: every active backend is on this node.
        using var c = new ServiceCluster(ServiceYaml.Docs(
            ServiceYaml.Service("web", "  clusterIP: 198.18.50.10\n  internalTrafficPolicy: Local\n  ports: [{name: http, port: 80, targetPort: 8080}]",
                "{service.cilium.io/lb-algorithm: maglev}"),
            ServiceYaml.WebSlice("web", web3: "{ready: false}")));
        var features = OffloadSupport.Unsupported(c.Snapshot);
        Assert.Empty(features);
    }

    [SkippableFact]
    public void VxlanTunnelRoutesAreOffloadedAndFilled()
    {
        // Pod CIDRs of node-b and node-c through VXLAN: every Tunnel next hop gets its peer in dp_tunnels.
        DatapathFixture.RequireRoot();
        using var c = new ServiceCluster("", dataplaneSpecExtra: "  overlay: {mode: vxlan}\n");
        int tunnels = c.Snapshot.NextHops.Count(nh => nh.Kind == Core.Routing.NextHopKind.Tunnel);
        Assert.True(tunnels > 0, "the VXLAN config must produce tunnel next hops");
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = true, ConntrackMaxEntries = 64, TestRunMetadata = true });
        MapFiller.Fill(dp, c.Snapshot, _ => 0);
        Assert.Equal(tunnels, dp.Tunnels.Keys<uint>().Count);
    }

    [SkippableFact]
    public void EveryDifferentialConfigurationIsFullyOffloaded()
    {
        // The policy scenarios the differential tests run: nothing of them may be left out of the BPF side.
        using var c = new PolicyCluster(GeneratedDifferentialTests.Policies);
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
    }
}
