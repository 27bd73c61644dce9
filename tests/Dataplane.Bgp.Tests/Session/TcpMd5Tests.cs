using System.Net;
using Dataplane.Bgp.Session;

namespace Dataplane.Bgp.Tests.Session;

/// <summary>TCP MD5 signatures (RFC 2385) between two of our speakers over loopback.</summary>
public class TcpMd5Tests
{
    private static readonly IPAddress A = IPAddress.Parse("127.0.0.13");
    private static readonly IPAddress B = IPAddress.Parse("127.0.0.14");

    private static async Task<(BgpSpeaker, BgpSpeaker, BgpPeer)> Pair(string passwordA, string passwordB)
    {
        var b = new BgpSpeaker(new SpeakerConfig(65014, IPAddress.Parse("198.18.255.14")) { Listen = new IPEndPoint(B, 0) });
        b.Start();
        b.AddPeer(new PeerConfig(A, 65013) { Passive = true, Password = passwordB });
        var a = new BgpSpeaker(new SpeakerConfig(65013, IPAddress.Parse("198.18.255.13")) { Listen = null });
        a.Start();
        var peer = a.AddPeer(new PeerConfig(B, 65014) { Port = b.ListenPort, LocalAddress = A, Password = passwordA, ConnectRetry = TimeSpan.FromSeconds(1) });
        await Task.Yield();
        return (a, b, peer);
    }

    [Fact]
    public async Task MatchingPasswordsEstablish()
    {
        var (a, b, peer) = await Pair("s3cret", "s3cret");
        await using var _a = a;
        await using var _b = b;
        await Eventually.True(() => peer.State == SessionState.Established, TimeSpan.FromSeconds(10), "established with MD5");
    }

    [Fact]
    public async Task MismatchedPasswordsNeverConnect()
    {
        var (a, b, peer) = await Pair("s3cret", "other");
        await using var _a = a;
        await using var _b = b;
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.NotEqual(SessionState.Established, peer.State);
        Assert.NotEqual(SessionState.OpenConfirm, peer.State);
    }
}
