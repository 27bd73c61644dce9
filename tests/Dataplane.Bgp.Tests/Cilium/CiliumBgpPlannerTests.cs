using System.Net;
using Dataplane.Bgp.Cilium;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Cilium;

public class CiliumBgpPlannerTests
{
    private static PlannedPeer PlanFor(string node, params string[] more)
    {
        var res = CiliumYamlReader.Read([CiliumManifests.Crds("198.18.0.2", 179, 65100), CiliumManifests.Cluster, .. more]);
        return Assert.Single(CiliumBgpPlanner.Plan(res, node).Peers);
    }

    [Fact]
    public void PeerConfigComesFromTheReferencedCrd()
    {
        var p = PlanFor("node-a");
        Assert.Equal(IPAddress.Parse("198.18.0.2"), p.Config.Address);
        Assert.Equal(65100u, p.Config.RemoteAs);
        Assert.Equal(65000u, p.LocalAsn);
        Assert.Equal(9, p.Config.HoldTime);
        Assert.Equal(TimeSpan.FromSeconds(1), p.Config.ConnectRetry);
        Assert.True(p.PeerConfig.GracefulRestart);
        Assert.Equal(30, p.PeerConfig.RestartTimeSeconds);
        Assert.Equal((ushort)30, p.Config.GracefulRestartTime);
    }

    [Fact]
    public void PodCidrsAndSelectedServiceAddressesAreAnnouncedWithAttributes()
    {
        var routes = PlanFor("node-a").Routes;
        var pod = routes[BgpPrefix.Parse("198.18.128.0/24")];
        Assert.Equal([PathAttributes.Community(65000, 10)], pod.Communities);
        Assert.Equal(110u, pod.LocalPref);
        Assert.True(routes.ContainsKey(BgpPrefix.Parse("2001:db8:128::/64")));
        Assert.Equal([PathAttributes.Community(65000, 20)], routes[BgpPrefix.Parse("198.18.132.1/32")].Communities);
        Assert.True(routes.ContainsKey(BgpPrefix.Parse("198.18.131.1/32")));   // externalIP
        Assert.True(routes.ContainsKey(BgpPrefix.Parse("2001:db8:132::1/128")));
        Assert.False(routes.ContainsKey(BgpPrefix.Parse("198.18.130.10/32"))); // ClusterIP not in the selected advertisement
        Assert.False(routes.ContainsKey(BgpPrefix.Parse("198.18.130.12/32")));
        Assert.False(routes.ContainsKey(BgpPrefix.Parse("198.18.129.0/24")));  // another node's pod CIDR
    }

    [Fact]
    public void ExternalTrafficPolicyLocalNeedsAReadyLocalBackend()
    {
        var lb = BgpPrefix.Parse("198.18.132.2/32");
        Assert.False(PlanFor("node-a").Routes.ContainsKey(lb));
        Assert.False(PlanFor("node-a", CiliumManifests.ReadyBackend("node-b", ready: true)).Routes.ContainsKey(lb));
        Assert.False(PlanFor("node-a", CiliumManifests.ReadyBackend("node-a", ready: false)).Routes.ContainsKey(lb));
        Assert.True(PlanFor("node-a", CiliumManifests.ReadyBackend("node-a", ready: true)).Routes.ContainsKey(lb));
    }

    [Fact]
    public void NodeSelectorExcludesOtherNodes()
    {
        var res = CiliumYamlReader.Read(CiliumManifests.Crds("198.18.0.2", 179, 65100), CiliumManifests.Cluster);
        Assert.Empty(CiliumBgpPlanner.Plan(res, "node-b").Peers);
    }

    [Fact]
    public void SelectorOperators()
    {
        var labels = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" };
        LabelSelector S(params LabelRequirement[] r) => new(new Dictionary<string, string>(), r);
        Assert.True(S(new LabelRequirement("a", "In", ["1", "3"])).Matches(labels));
        Assert.False(S(new LabelRequirement("a", "NotIn", ["1"])).Matches(labels));
        Assert.True(S(new LabelRequirement("c", "DoesNotExist", [])).Matches(labels));
        Assert.True(S(new LabelRequirement("b", "Exists", [])).Matches(labels));
        Assert.False(S(new LabelRequirement("b", "Bogus", [])).Matches(labels));
        Assert.True(LabelSelector.Everything.Matches(labels));
    }
}
