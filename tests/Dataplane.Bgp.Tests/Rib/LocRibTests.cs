using System.Net;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Rib;

public class LocRibTests
{
    private static readonly BgpPrefix P = BgpPrefix.Parse("198.18.100.0/24");

    private static LearnedRoute Route(string peer, uint asn, uint routerId, bool ibgp = false, int pathLen = 1,
        uint? localPref = null, uint? med = null, Origin origin = Origin.Igp, uint? firstAs = null) =>
        new(P, IPAddress.Parse(peer), new PathAttributes
        {
            Origin = origin,
            AsPath = pathLen == 0 ? [] : [new AsPathSegment(AsPathSegmentType.Sequence, [firstAs ?? asn, .. Enumerable.Repeat(64999u, pathLen - 1)])],
            LocalPref = localPref,
            MultiExitDisc = med,
        }, new PeerIdentity(IPAddress.Parse(peer), asn, routerId, ibgp));

    [Fact]
    public void ShorterAsPathWins()
    {
        var rib = new LocRib();
        rib.Upsert(Route("198.18.0.2", 65001, 2, pathLen: 3));
        rib.Upsert(Route("198.18.0.3", 65002, 3, pathLen: 2));
        Assert.Equal(IPAddress.Parse("198.18.0.3"), Assert.Single(rib.BestPaths(P)).Peer.Address);
    }

    [Fact]
    public void HigherLocalPrefWinsOnlyWhenReceivedOverIbgp()
    {
        var rib = new LocRib();
        rib.Upsert(Route("198.18.0.2", 65000, 2, ibgp: true, pathLen: 3, localPref: 200));
        rib.Upsert(Route("198.18.0.3", 65002, 3, pathLen: 1, localPref: 500)); // eBGP LOCAL_PREF ignored
        Assert.Equal(IPAddress.Parse("198.18.0.2"), Assert.Single(rib.BestPaths(P)).Peer.Address);
    }

    [Fact]
    public void OriginThenMedFromSameNeighbourAs()
    {
        var rib = new LocRib();
        rib.Upsert(Route("198.18.0.2", 65001, 2, origin: Origin.Incomplete));
        rib.Upsert(Route("198.18.0.3", 65001, 3, med: 50));
        rib.Upsert(Route("198.18.0.4", 65001, 4, med: 10));
        Assert.Equal(IPAddress.Parse("198.18.0.4"), Assert.Single(rib.BestPaths(P)).Peer.Address);
    }

    [Fact]
    public void EqualPathsFormEcmpSetOrderedByRouterId()
    {
        var rib = new LocRib();
        var changes = new List<RouteChange>();
        rib.Changed += changes.Add;
        rib.Upsert(Route("198.18.0.3", 65002, 9));
        rib.Upsert(Route("198.18.0.2", 65001, 5));
        rib.Upsert(Route("198.18.0.4", 65003, 7, ibgp: false, pathLen: 2)); // longer: not in the set
        var best = rib.BestPaths(P);
        Assert.Equal(["198.18.0.2", "198.18.0.3"], best.Select(r => r.Peer.Address.ToString()));
        Assert.Equal(2, changes.Count); // third path did not change the set
        rib.Remove(P, best[0].Peer);
        rib.Remove(P, best[1].Peer);
        Assert.Equal("198.18.0.4", Assert.Single(rib.BestPaths(P)).Peer.Address.ToString());
        rib.Remove(P, rib.BestPaths(P)[0].Peer);
        Assert.True(changes[^1].IsWithdrawal);
        Assert.Equal(0, rib.Count);
    }

    [Fact]
    public void EbgpPreferredOverIbgpAndStaleLosesToFresh()
    {
        var rib = new LocRib();
        rib.Upsert(Route("198.18.0.2", 65000, 1, ibgp: true));
        rib.Upsert(Route("198.18.0.3", 65001, 2));
        Assert.Equal("198.18.0.3", Assert.Single(rib.BestPaths(P)).Peer.Address.ToString());
        rib.Upsert(Route("198.18.0.3", 65001, 2) with { Stale = true });
        Assert.Equal("198.18.0.2", Assert.Single(rib.BestPaths(P)).Peer.Address.ToString());
    }

    [Fact]
    public void ThrowingSubscriberDoesNotStopOthersOrTheUpdate()
    {
        var rib = new LocRib();
        var seen = new List<RouteChange>();
        Exception? reported = null;
        rib.HandlerFailed = ex => reported = ex;
        rib.Changed += _ => throw new InvalidOperationException("subscriber bug");
        rib.Changed += seen.Add;
        rib.Upsert(Route("198.18.0.2", 65001, 2));
        Assert.Single(seen);
        Assert.IsType<InvalidOperationException>(reported);
        Assert.Single(rib.BestPaths(P));
    }
}
