using Dataplane.Core.Tests.Policy;
using Dataplane.Core.Tests.Services;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// A configuration using what the XDP program does not implement (services, masquerade, egress gateway, overlay)
/// is refused by the map filler with a clear error, before anything is written — never silently run without it.
/// </summary>
public sealed class UnsupportedFeatureTests
{
    private const string EgressPolicy = """
        apiVersion: cilium.io/v2
        kind: CiliumEgressGatewayPolicy
        metadata: {name: egress-clients}
        spec:
          selectors: [{podSelector: {matchLabels: {app: client}}}]
          destinationCIDRs: [198.18.9.0/24]
          egressGateways: [{nodeSelector: {matchLabels: {role: worker}}}]
        """;

    public static TheoryData<string, string, string> Configs => new()
    {
        { "service", ServiceYaml.Docs(ServiceYaml.Web, ServiceYaml.WebSlice("web")), "" },
        { "masquerade", "", "  masquerade: {nonMasqueradeCIDRs: [198.18.200.0/24]}\n" },
        { "egress gateway", EgressPolicy, "" },
        { "tunnel", "", "  overlay: {mode: vxlan}\n" },
        { "SRv6", "", "  overlay: {locators: [\"2001:db8:a::/48\"], sids: [{sid: \"2001:db8:a::4\", behavior: End.DT4}]}\n" },
    };

    [Theory]
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
        Assert.StartsWith("services/NAT/egress gateway/overlay are not offloaded yet", e.Message);
        Assert.Contains(e.Features, f => f.Contains(feature.Split(' ')[0], StringComparison.OrdinalIgnoreCase));
        Assert.True(dp.Config.TryLookup(0u, out DpConfig after));
        Assert.Equal(before.ClockOffsetNs, after.ClockOffsetNs);
        Assert.Equal(routes, dp.Routes4.Keys<Lpm4Key>().Count);
    }

    [Fact]
    public void EveryDifferentialConfigurationIsFullyOffloaded()
    {
        // The policy scenarios the differential tests run: nothing of them may be left out of the BPF side.
        using var c = new PolicyCluster(GeneratedDifferentialTests.Policies);
        Assert.Empty(OffloadSupport.Unsupported(c.Snapshot));
    }
}
