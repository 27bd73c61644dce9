using System.Net;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Session;

/// <summary>Our speaker against a scripted peer: errors become the right NOTIFICATION and a clean close.</summary>
public class MisbehavingPeerTests
{
    private static readonly IPAddress Speaker = IPAddress.Parse("127.0.0.5");
    private static readonly IPAddress Raw = IPAddress.Parse("127.0.0.6");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static OpenMessage RawOpen(ushort hold = 3, uint asn = 65010) => new(4, (ushort)asn, hold, IPAddress.Parse("198.18.255.6"),
        new Capabilities { Families = [Family.Ipv4Unicast], FourOctetAs = asn });

    private static async Task<(BgpSpeaker, BgpPeer, RawPeer)> Established(ushort hold = 3)
    {
        var speaker = new BgpSpeaker(new SpeakerConfig(65005, IPAddress.Parse("198.18.255.5")) { Listen = new IPEndPoint(Speaker, 0) });
        speaker.Start();
        var peer = speaker.AddPeer(new PeerConfig(Raw, 65010) { Passive = true, HoldTime = hold });
        var raw = await RawPeer.ConnectAsync(Raw, new IPEndPoint(Speaker, speaker.ListenPort));
        await raw.SendAsync(OpenCodec.Encode(RawOpen(hold)));
        var open = await raw.ReadAsync();
        Assert.Equal(MessageType.Open, open?.Type);
        await raw.SendAsync(MessageFraming.Keepalive());
        await Eventually.True(() => peer.State == SessionState.Established, Wait, "established");
        return (speaker, peer, raw);
    }

    [Fact]
    public async Task HoldTimerExpiryIsDetectedAndNotified()
    {
        var (speaker, peer, raw) = await Established(hold: 3);
        await using var _s = speaker;
        using var _r = raw;
        // Say nothing more: after 3 s our side must send Hold Timer Expired and drop the session.
        var n = await raw.ReadNotificationAsync();
        Assert.Equal(ErrorCode.HoldTimerExpired, n?.Code);
        await Eventually.True(() => peer.State != SessionState.Established, Wait, "session down");
        Assert.Equal(ErrorCode.HoldTimerExpired, peer.LastError?.Code);
    }

    [Fact]
    public async Task MalformedUpdateGetsUpdateErrorNotification()
    {
        var (speaker, peer, raw) = await Established(hold: 30);
        await using var _s = speaker;
        using var _r = raw;
        // ORIGIN value 7: Invalid ORIGIN Attribute (3/6).
        byte[] body = [0, 0, 0, 4, 0x40, 1, 1, 7, 24, 198, 18, 1];
        await raw.SendAsync(MessageFraming.Frame(MessageType.Update, body));
        var n = await raw.ReadNotificationAsync();
        Assert.Equal((ErrorCode.UpdateMessage, (byte)UpdateError.InvalidOriginAttribute), (n?.Code, n?.Subcode));
        await Eventually.True(() => peer.State != SessionState.Established, Wait, "session down");
    }

    [Fact]
    public async Task BadMarkerGetsHeaderErrorNotification()
    {
        var (speaker, _, raw) = await Established(hold: 30);
        await using var _s = speaker;
        using var _r = raw;
        var ka = MessageFraming.Keepalive();
        ka[0] = 0;
        await raw.SendAsync(ka);
        var n = await raw.ReadNotificationAsync();
        Assert.Equal((ErrorCode.MessageHeader, (byte)HeaderError.ConnectionNotSynchronized), (n?.Code, n?.Subcode));
    }

    [Fact]
    public async Task RouteRefreshResendsOurRoutes()
    {
        var (speaker, _, raw) = await Established(hold: 30);
        await using var _s = speaker;
        using var _r = raw;
        var p = BgpPrefix.Parse("198.18.90.0/24");
        speaker.Announce(new Dataplane.Bgp.Rib.LocalRoute(p));
        Assert.Equal(p, Assert.Single((await NextAnnouncement(raw))!.Announced));
        await raw.SendAsync(RouteRefreshMessage.Encode(Family.Ipv4Unicast));
        Assert.Equal(p, Assert.Single((await NextAnnouncement(raw))!.Announced));
    }

    private static async Task<UpdateMessage?> NextAnnouncement(RawPeer raw)
    {
        for (int i = 0; i < 20; i++)
        {
            var m = await raw.ReadAsync();
            if (m is null) return null;
            if (m.Value.Type == MessageType.Update && UpdateParser.TryParse(m.Value.Body, true, out var u, out _) && u.Announced.Count > 0) return u;
        }
        return null;
    }

    [Fact]
    public async Task WrongPeerAsIsRejectedInOpen()
    {
        await using var speaker = new BgpSpeaker(new SpeakerConfig(65005, IPAddress.Parse("198.18.255.5")) { Listen = new IPEndPoint(Speaker, 0) });
        speaker.Start();
        speaker.AddPeer(new PeerConfig(Raw, 65010) { Passive = true });
        using var raw = await RawPeer.ConnectAsync(Raw, new IPEndPoint(Speaker, speaker.ListenPort));
        await raw.SendAsync(OpenCodec.Encode(RawOpen(asn: 65011)));
        var n = await raw.ReadNotificationAsync();
        Assert.Equal((ErrorCode.OpenMessage, (byte)OpenError.BadPeerAs), (n?.Code, n?.Subcode));
    }

    [Fact]
    public async Task UpdateBeforeEstablishedIsFsmError()
    {
        await using var speaker = new BgpSpeaker(new SpeakerConfig(65005, IPAddress.Parse("198.18.255.5")) { Listen = new IPEndPoint(Speaker, 0) });
        speaker.Start();
        speaker.AddPeer(new PeerConfig(Raw, 65010) { Passive = true });
        using var raw = await RawPeer.ConnectAsync(Raw, new IPEndPoint(Speaker, speaker.ListenPort));
        await raw.SendAsync(UpdateWriter.EndOfRib(Family.Ipv4Unicast));
        var n = await raw.ReadNotificationAsync();
        Assert.Equal((ErrorCode.FiniteStateMachine, (byte)FsmError.UnexpectedMessageInOpenSent), (n?.Code, n?.Subcode));
    }
}
