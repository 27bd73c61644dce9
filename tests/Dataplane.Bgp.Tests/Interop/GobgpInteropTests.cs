using System.Net;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Wire;
using Dataplane.Bgp.Tests.Session;
using Xunit.Abstractions;

namespace Dataplane.Bgp.Tests.Interop;

/// <summary>
/// Our speaker against GoBGP 3 (Debian's gobgpd) in a network namespace, over IPv4 and IPv6 sessions.
/// Needs root, iproute2 and gobgpd (installed by .ci/run).
/// </summary>
[Collection("interop")]
public class GobgpInteropTests
{
    private const uint OurAs = 65001;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _out;

    public GobgpInteropTests(ITestOutputHelper output) => _out = output;

    private BgpSpeaker NewSpeaker(NetnsLink link, bool restarting = false, string? password = null)
    {
        var speaker = new BgpSpeaker(new SpeakerConfig(OurAs, link.HostV4)
        {
            Listen = null, // gobgpd is passive: we connect.
            NextHop4 = link.HostV4,
            NextHop6 = link.HostV6,
            Restarting = restarting,
            Log = s => { try { _out.WriteLine(s); } catch (InvalidOperationException) { } },
        });
        speaker.Start();
        foreach (var a in new[] { link.PeerV4, link.PeerV6 })
            speaker.AddPeer(new PeerConfig(a, GobgpDaemon.As) { HoldTime = 9, ConnectRetry = TimeSpan.FromSeconds(1), LocalAddress = a.Equals(link.PeerV4) ? link.HostV4 : link.HostV6, Password = password });
        return speaker;
    }

    private static Task BothEstablished(BgpSpeaker s) =>
        Eventually.True(() => s.Peers.All(p => p.State == SessionState.Established), Wait, "IPv4 and IPv6 sessions established");

    [SkippableFact]
    public async Task AnnounceWithdrawLearnAndHoldTimerAgainstGobgp()
    {
        using var gobgp = new GobgpDaemon(OurAs);
        var link = gobgp.Link;
        var speaker = NewSpeaker(link);
        try
        {
            await BothEstablished(speaker);
            Assert.Contains("Establ", gobgp.Neighbors());

            // Our announcements appear in GoBGP's RIB with next hop and communities.
            var v4 = BgpPrefix.Parse("198.18.200.0/24");
            var v6 = BgpPrefix.Parse("2001:db8:200::/48");
            speaker.Announce(
                new LocalRoute(v4) { Communities = [PathAttributes.Community(65001, 100), PathAttributes.Community(65001, 200)] },
                new LocalRoute(v6) { Communities = [PathAttributes.Community(65001, 600)] });
            await Eventually.True(() => gobgp.Rib("ipv4").Contains("198.18.200.0/24"), Wait, "IPv4 route in gobgp rib");
            await Eventually.True(() => gobgp.Rib("ipv6").Contains("2001:db8:200::/48"), Wait, "IPv6 route in gobgp rib");
            string rib4 = gobgp.Rib("ipv4"), rib6 = gobgp.Rib("ipv6");
            _out.WriteLine(rib4 + rib6);
            Assert.Contains(link.HostV4.ToString(), Line(rib4, "198.18.200.0/24"));
            Assert.Contains("65001:100", Line(rib4, "198.18.200.0/24"));
            Assert.Contains("65001:200", Line(rib4, "198.18.200.0/24"));
            Assert.Contains(link.HostV6.ToString(), Line(rib6, "2001:db8:200::/48"));
            Assert.Contains("65001:600", Line(rib6, "2001:db8:200::/48"));

            // Withdrawal removes them.
            speaker.Withdraw(v4, v6);
            await Eventually.True(() => !gobgp.Rib("ipv4").Contains("198.18.200.0/24") && !gobgp.Rib("ipv6").Contains("2001:db8:200::/48"), Wait, "routes withdrawn from gobgp");

            // Routes GoBGP originates reach our learned-route API.
            gobgp.Gobgp("global", "rib", "add", "-a", "ipv4", "198.18.201.0/24", "community", "65100:7");
            gobgp.Gobgp("global", "rib", "add", "-a", "ipv6", "2001:db8:201::/48");
            var p4 = BgpPrefix.Parse("198.18.201.0/24");
            var p6 = BgpPrefix.Parse("2001:db8:201::/48");
            await Eventually.True(() => speaker.Rib.BestPaths(p4).Count > 0 && speaker.Rib.BestPaths(p6).Count > 0, Wait, "gobgp routes learned");
            var learned = speaker.Rib.BestPaths(p4)[0];
            Assert.Equal(GobgpDaemon.As, learned.Attributes.FirstAs);
            Assert.Contains(PathAttributes.Community(65100, 7), learned.Attributes.Communities);
            Assert.Equal(link.PeerV4, speaker.Rib.BestPaths(p4).Single(r => r.Peer.Address.Equals(link.PeerV4)).NextHop);
            gobgp.Gobgp("global", "rib", "del", "-a", "ipv4", "198.18.201.0/24");
            await Eventually.True(() => speaker.Rib.BestPaths(p4).Count == 0, Wait, "gobgp withdrawal learned");

            // Freeze gobgpd: its keepalives stop and our hold timer (9 s) must fire.
            gobgp.Signal("STOP");
            try
            {
                await Eventually.True(() => speaker.Peers.All(p => p.LastError?.Code == ErrorCode.HoldTimerExpired && p.LastErrorSentByUs), Wait, "hold timer expiry detected");
                Assert.All(speaker.Peers, p => Assert.NotEqual(SessionState.Established, p.State));
            }
            finally
            {
                gobgp.Signal("CONT");
            }
            // And the session comes back by itself.
            await BothEstablished(speaker);
        }
        finally
        {
            await speaker.StopAsync();
            _out.WriteLine(File.ReadAllText(gobgp.LogPath));
        }
    }

    [SkippableFact]
    public async Task GracefulRestartKeepsOurRoutesInGobgp()
    {
        using var gobgp = new GobgpDaemon(OurAs);
        var speaker = NewSpeaker(gobgp.Link);
        BgpSpeaker? restarted = null;
        try
        {
            await BothEstablished(speaker);
            speaker.Announce(new LocalRoute(BgpPrefix.Parse("198.18.210.0/24")), new LocalRoute(BgpPrefix.Parse("198.18.211.0/24")));
            await Eventually.True(() => gobgp.Rib("ipv4").Contains("198.18.211.0/24"), Wait, "routes in gobgp");

            // "Crash": TCP drops without NOTIFICATION. GoBGP must keep our routes (stale) meanwhile.
            await speaker.StopAsync(graceful: true);
            await Eventually.True(() => !gobgp.Neighbors().Contains("Establ"), Wait, "gobgp sees the session drop");
            for (int i = 0; i < 6; i++)
            {
                Assert.Contains("198.18.210.0/24", gobgp.Rib("ipv4"));
                await Task.Delay(500);
            }

            // Back with the Restart State bit, announcing only one route: End-of-RIB makes GoBGP drop the other.
            restarted = NewSpeaker(gobgp.Link, restarting: true);
            restarted.Announce(new LocalRoute(BgpPrefix.Parse("198.18.210.0/24")));
            await BothEstablished(restarted);
            await Eventually.True(() => !gobgp.Rib("ipv4").Contains("198.18.211.0/24"), Wait, "stale route flushed after End-of-RIB");
            Assert.Contains("198.18.210.0/24", gobgp.Rib("ipv4"));
        }
        finally
        {
            await speaker.StopAsync();
            if (restarted is not null) await restarted.StopAsync();
            _out.WriteLine(File.ReadAllText(gobgp.LogPath));
        }
    }

    [SkippableFact]
    public async Task Md5SignedSessionsEstablishWithGobgp()
    {
        using var gobgp = new GobgpDaemon(OurAs, password: "dataplane-md5");
        var speaker = NewSpeaker(gobgp.Link, password: "dataplane-md5");
        try
        {
            await BothEstablished(speaker);
            speaker.Announce(new LocalRoute(BgpPrefix.Parse("198.18.250.0/24")));
            await Eventually.True(() => gobgp.Rib("ipv4").Contains("198.18.250.0/24"), Wait, "route over the signed session");
        }
        finally
        {
            await speaker.StopAsync();
        }
    }

    private static string Line(string table, string prefix) =>
        table.Split('\n').FirstOrDefault(l => l.Contains(prefix)) ?? "";
}
