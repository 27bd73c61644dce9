using System.Net;
using Dataplane.Bgp.Cilium;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Tests.Session;
using Dataplane.Bgp.Wire;
using Xunit.Abstractions;

namespace Dataplane.Bgp.Tests.Cilium;

/// <summary>A speaker driven by the CRDs (node-a, AS 65000) announcing to one of ours acting as the ToR.</summary>
public class CiliumReconcilerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly ITestOutputHelper _out;
    public CiliumReconcilerTests(ITestOutputHelper output) => _out = output;

    [Fact]
    public async Task CrdsDriveAnnouncementsAndWithdrawals()
    {
        var nodeIp = IPAddress.Parse("127.0.0.1"); // the kernel picks this source toward 127.0.0.12 (the CRDs set no local address)
        var torIp = IPAddress.Parse("127.0.0.12");
        await using var tor = new BgpSpeaker(new SpeakerConfig(65000, IPAddress.Parse("198.18.255.12")) { Listen = new IPEndPoint(torIp, 0) });
        tor.Start();
        tor.AddPeer(new PeerConfig(nodeIp, 65000) { Passive = true, HoldTime = 9 });
        await using var node = new BgpSpeaker(new SpeakerConfig(65000, IPAddress.Parse("198.18.255.11"))
        {
            Listen = null, NextHop6 = IPAddress.Parse("2001:db8::11"), Log = s => { try { _out.WriteLine(s); } catch (InvalidOperationException) { } },
        });
        node.Start();
        string crds = CiliumManifests.Crds(torIp.ToString(), tor.ListenPort, 65000);

        await CiliumBgpReconciler.ApplyAsync(node, CiliumBgpPlanner.Plan(CiliumYamlReader.Read(crds, CiliumManifests.Cluster), "node-a"));
        var pod = BgpPrefix.Parse("198.18.128.0/24");
        var lb = BgpPrefix.Parse("198.18.132.1/32");
        var localLb = BgpPrefix.Parse("198.18.132.2/32");
        await Eventually.True(() => tor.Rib.BestPaths(pod).Count == 1 && tor.Rib.BestPaths(lb).Count == 1, Wait, "pod CIDR and LB IP at the ToR");
        var podRoute = tor.Rib.BestPaths(pod)[0];
        Assert.Equal(110u, podRoute.Attributes.LocalPref); // iBGP carries the advertisement's local preference
        Assert.Equal([PathAttributes.Community(65000, 10)], podRoute.Attributes.Communities);
        Assert.Equal(IPAddress.Parse("2001:db8::11"), tor.Rib.BestPaths(BgpPrefix.Parse("2001:db8:128::/64"))[0].NextHop);
        Assert.Empty(tor.Rib.BestPaths(localLb));

        // A ready local backend appears: the eTP=Local service gets announced.
        await CiliumBgpReconciler.ApplyAsync(node, CiliumBgpPlanner.Plan(
            CiliumYamlReader.Read(crds, CiliumManifests.Cluster, CiliumManifests.ReadyBackend("node-a", true)), "node-a"));
        await Eventually.True(() => tor.Rib.BestPaths(localLb).Count == 1, Wait, "eTP=Local service announced");

        // The backend goes unready and the 'web' service disappears: both withdrawn, pod CIDR stays.
        string withoutWeb = string.Join("---", CiliumManifests.Cluster.Split("---").Where(d => !d.Contains("name: web")));
        await CiliumBgpReconciler.ApplyAsync(node, CiliumBgpPlanner.Plan(
            CiliumYamlReader.Read(crds, withoutWeb, CiliumManifests.ReadyBackend("node-a", false)), "node-a"));
        await Eventually.True(() => tor.Rib.BestPaths(localLb).Count == 0 && tor.Rib.BestPaths(lb).Count == 0, Wait, "services withdrawn");
        Assert.Single(tor.Rib.BestPaths(pod));

        // The cluster config no longer selects this node: the peer is removed and everything withdrawn.
        await CiliumBgpReconciler.ApplyAsync(node, new CiliumBgpPlan([]));
        await Eventually.True(() => tor.Rib.Count == 0, Wait, "all withdrawn");
        Assert.Empty(node.Peers);
    }
}
