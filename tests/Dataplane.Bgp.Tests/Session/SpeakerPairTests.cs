using System.Net;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Wire;
using Xunit.Abstractions;

namespace Dataplane.Bgp.Tests.Session;

/// <summary>Two of our speakers talking over loopback (127.0.0.x): both sides connect actively, so every
/// run also exercises collision detection.</summary>
public class SpeakerPairTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static (BgpSpeaker A, BgpSpeaker B, BgpPeer AtoB, BgpPeer BtoA) Pair(uint asA, uint asB, ITestOutputHelper? log = null)
    {
        var ipA = IPAddress.Parse("127.0.0.1");
        var ipB = IPAddress.Parse("127.0.0.2");
        var a = new BgpSpeaker(new SpeakerConfig(asA, IPAddress.Parse("198.18.255.1")) { Listen = new IPEndPoint(ipA, 0), NextHop6 = IPAddress.Parse("2001:db8::a"), Log = s => log?.WriteLine("A " + s) });
        var b = new BgpSpeaker(new SpeakerConfig(asB, IPAddress.Parse("198.18.255.2")) { Listen = new IPEndPoint(ipB, 0), NextHop6 = IPAddress.Parse("2001:db8::b"), Log = s => log?.WriteLine("B " + s) });
        a.Start();
        b.Start();
        var retry = TimeSpan.FromMilliseconds(500);
        var atob = a.AddPeer(new PeerConfig(ipB, asB) { Port = b.ListenPort, LocalAddress = ipA, HoldTime = 9, ConnectRetry = retry });
        var btoa = b.AddPeer(new PeerConfig(ipA, asA) { Port = a.ListenPort, LocalAddress = ipB, HoldTime = 9, ConnectRetry = retry });
        return (a, b, atob, btoa);
    }

    private readonly ITestOutputHelper _out;
    public SpeakerPairTests(ITestOutputHelper output) => _out = output;

    [Fact]
    public async Task EbgpSessionExchangesAndWithdrawsRoutesOfBothFamilies()
    {
        var (a, b, atob, btoa) = Pair(65001, 4_200_000_002, _out);
        await using var _a = a;
        await using var _b = b;
        await Eventually.True(() => atob.State == SessionState.Established && btoa.State == SessionState.Established, Wait, "established");
        Assert.Equal(4_200_000_002u, atob.RemoteOpen!.AsNumber);

        var v4 = BgpPrefix.Parse("198.18.64.0/24");
        var v6 = BgpPrefix.Parse("2001:db8:64::/48");
        a.Announce(new LocalRoute(v4) { Communities = [PathAttributes.Community(65001, 7)] }, new LocalRoute(v6));
        await Eventually.True(() => b.Rib.BestPaths(v4).Count == 1 && b.Rib.BestPaths(v6).Count == 1, Wait, "routes learned by B");
        var r4 = b.Rib.BestPaths(v4)[0];
        Assert.Equal(IPAddress.Parse("127.0.0.1"), r4.NextHop);
        Assert.Equal([PathAttributes.Community(65001, 7)], r4.Attributes.Communities);
        Assert.Equal(65001u, r4.Attributes.FirstAs);
        Assert.Equal(IPAddress.Parse("2001:db8::a"), b.Rib.BestPaths(v6)[0].NextHop);

        a.Withdraw(v4, v6);
        await Eventually.True(() => b.Rib.Count == 0, Wait, "routes withdrawn at B");
        Assert.Equal(SessionState.Established, atob.State);
    }

    [Fact]
    public async Task IbgpCarriesLocalPrefAndNotifiesOnShutdown()
    {
        var (a, b, atob, btoa) = Pair(65000, 65000, _out);
        await using var _b = b;
        await Eventually.True(() => atob.State == SessionState.Established && btoa.State == SessionState.Established, Wait, "established");
        var p = BgpPrefix.Parse("198.18.65.0/24");
        a.Announce(new LocalRoute(p) { LocalPref = 300, MultiExitDisc = 5 });
        await Eventually.True(() => b.Rib.BestPaths(p).Count == 1, Wait, "route learned");
        var r = b.Rib.BestPaths(p)[0];
        Assert.Equal(300u, r.Attributes.LocalPref);
        Assert.Equal(5u, r.Attributes.MultiExitDisc);
        Assert.Equal(0, r.Attributes.AsPathLength);
        Assert.True(r.Peer.Internal);

        await a.StopAsync();
        await Eventually.True(() => btoa.State != SessionState.Established && b.Rib.Count == 0, Wait, "B sees the Cease and flushes");
        Assert.Equal(ErrorCode.Cease, btoa.LastError?.Code);
    }

    [Fact]
    public async Task GracefulStopKeepsRoutesStaleUntilPeerReturns()
    {
        var (a, b, atob, btoa) = Pair(65001, 65002, _out);
        await using var _b = b;
        await Eventually.True(() => btoa.State == SessionState.Established, Wait, "established");
        var keep = BgpPrefix.Parse("198.18.66.0/24");
        var gone = BgpPrefix.Parse("198.18.67.0/24");
        a.Announce(new LocalRoute(keep), new LocalRoute(gone));
        await Eventually.True(() => b.Rib.Count == 2, Wait, "routes learned");

        await a.StopAsync(graceful: true);
        await Eventually.True(() => btoa.State != SessionState.Established, Wait, "B notices the drop");
        await Task.Delay(500);
        Assert.True(b.Rib.BestPaths(keep)[0].Stale);
        Assert.Equal(2, b.Rib.Count);

        // A comes back restarting, announcing only one of the two: End-of-RIB flushes the other.
        var a2 = new BgpSpeaker(a.Config with { Restarting = true });
        await using var _a2 = a2;
        a2.Start();
        a2.Announce(new LocalRoute(keep));
        a2.AddPeer(new PeerConfig(IPAddress.Parse("127.0.0.2"), 65002) { Port = b.ListenPort, LocalAddress = IPAddress.Parse("127.0.0.1"), HoldTime = 9, ConnectRetry = TimeSpan.FromMilliseconds(500) });
        await Eventually.True(() => b.Rib.Count == 1 && !b.Rib.BestPaths(keep)[0].Stale, Wait, "fresh route, stale one flushed");
        Assert.True(a2.Peers.Single().RemoteOpen!.Capabilities.GracefulRestart is not null);
        Assert.True(btoa.RemoteOpen!.Capabilities.GracefulRestart!.Restarting); // A said it had restarted
    }
}
