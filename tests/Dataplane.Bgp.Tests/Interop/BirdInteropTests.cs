using System.Net;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Tests.Session;
using Dataplane.Bgp.Wire;
using Xunit.Abstractions;

namespace Dataplane.Bgp.Tests.Interop;

/// <summary>Our speaker against BIRD 2.0 (Debian's bird2) in a network namespace. Needs root and bird2.</summary>
[Collection("interop")]
public class BirdInteropTests
{
    private const uint OurAs = 65001;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _out;

    public BirdInteropTests(ITestOutputHelper output) => _out = output;

    private BgpSpeaker NewSpeaker(NetnsLink link, bool restarting = false)
    {
        var speaker = new BgpSpeaker(new SpeakerConfig(OurAs, link.HostV4)
        {
            Listen = null, // BIRD is passive: we connect.
            Restarting = restarting,
            Log = s => { try { _out.WriteLine(s); } catch (InvalidOperationException) { } },
        });
        speaker.Start();
        speaker.AddPeer(new PeerConfig(link.PeerV4, BirdDaemon.As) { HoldTime = 9, ConnectRetry = TimeSpan.FromSeconds(1), LocalAddress = link.HostV4 });
        speaker.AddPeer(new PeerConfig(link.PeerV6, BirdDaemon.As) { HoldTime = 9, ConnectRetry = TimeSpan.FromSeconds(1), LocalAddress = link.HostV6 });
        return speaker;
    }

    private static Task BothEstablished(BgpSpeaker s) =>
        Eventually.True(() => s.Peers.All(p => p.State == SessionState.Established), Wait, "IPv4 and IPv6 sessions established");

    [SkippableFact]
    public async Task AnnounceWithdrawLearnAndHoldTimerAgainstBird()
    {
        using var bird = new BirdDaemon(OurAs);
        var link = bird.Link;
        var speaker = NewSpeaker(link);
        try
        {
            await BothEstablished(speaker);

            var v4 = BgpPrefix.Parse("198.18.230.0/24");
            var v6 = BgpPrefix.Parse("2001:db8:230::/48");
            speaker.Announce(
                new LocalRoute(v4) { Communities = [PathAttributes.Community(65001, 100)], MultiExitDisc = 42 },
                new LocalRoute(v6) { Communities = [PathAttributes.Community(65001, 600)] });
            await Eventually.True(() => bird.Routes("ours4").Contains("198.18.230.0/24") && bird.Routes("ours6").Contains("2001:db8:230::/48"), Wait, "routes in BIRD");
            string r4 = bird.Routes("ours4"), r6 = bird.Routes("ours6");
            _out.WriteLine(r4 + r6);
            Assert.Contains($"BGP.next_hop: {link.HostV4}", r4);
            Assert.Contains("(65001,100)", r4);
            Assert.Contains("BGP.med: 42", r4);
            Assert.Contains("BGP.as_path: 65001", r4);
            Assert.Contains(link.HostV6.ToString(), r6);
            Assert.Contains("(65001,600)", r6);

            speaker.Withdraw(v4, v6);
            await Eventually.True(() => !bird.Routes("ours4").Contains("198.18.230.0/24") && !bird.Routes("ours6").Contains("2001:db8:230::/48"), Wait, "routes withdrawn from BIRD");

            // BIRD's static routes reach our learned-route API.
            var s4 = BgpPrefix.Parse(BirdDaemon.Static4);
            var s6 = BgpPrefix.Parse(BirdDaemon.Static6);
            await Eventually.True(() => speaker.Rib.BestPaths(s4).Count == 1 && speaker.Rib.BestPaths(s6).Count == 1, Wait, "BIRD routes learned");
            var l4 = speaker.Rib.BestPaths(s4)[0];
            Assert.Equal(link.PeerV4, l4.NextHop);
            Assert.Equal(BirdDaemon.As, l4.Attributes.FirstAs);
            Assert.Contains(PathAttributes.Community(65200, 7), l4.Attributes.Communities);
            Assert.Equal(link.PeerV6, speaker.Rib.BestPaths(s6)[0].NextHop);

            bird.Signal("STOP");
            try
            {
                await Eventually.True(() => speaker.Peers.All(p => p.LastError?.Code == ErrorCode.HoldTimerExpired && p.LastErrorSentByUs), Wait, "hold timer expiry detected");
                Assert.Equal(0, speaker.Rib.Count); // BIRD sent no NOTIFICATION, but hold expiry is not a graceful restart
            }
            finally
            {
                bird.Signal("CONT");
            }
        }
        finally
        {
            await speaker.StopAsync();
            _out.WriteLine(bird.Protocols());
            _out.WriteLine(bird.Log());
        }
    }

    [SkippableFact]
    public async Task GracefulRestartKeepsOurRoutesInBird()
    {
        using var bird = new BirdDaemon(OurAs);
        var speaker = NewSpeaker(bird.Link);
        BgpSpeaker? restarted = null;
        try
        {
            await BothEstablished(speaker);
            speaker.Announce(new LocalRoute(BgpPrefix.Parse("198.18.240.0/24")), new LocalRoute(BgpPrefix.Parse("198.18.241.0/24")));
            await Eventually.True(() => bird.Routes("ours4").Contains("198.18.241.0/24"), Wait, "routes in BIRD");

            await speaker.StopAsync(graceful: true);
            await Task.Delay(1000);
            for (int i = 0; i < 6; i++)
            {
                Assert.Contains("198.18.240.0/24", bird.Routes("ours4"));
                await Task.Delay(500);
            }

            restarted = NewSpeaker(bird.Link, restarting: true);
            restarted.Announce(new LocalRoute(BgpPrefix.Parse("198.18.240.0/24")));
            await BothEstablished(restarted);
            await Eventually.True(() => !bird.Routes("ours4").Contains("198.18.241.0/24"), Wait, "stale route flushed after End-of-RIB");
            Assert.Contains("198.18.240.0/24", bird.Routes("ours4"));
        }
        finally
        {
            await speaker.StopAsync();
            if (restarted is not null) await restarted.StopAsync();
            _out.WriteLine(bird.Protocols());
            _out.WriteLine(bird.Log());
        }
    }
}
