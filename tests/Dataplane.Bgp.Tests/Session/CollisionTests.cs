using System.Net;
using System.Net.Sockets;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Session;

/// <summary>
/// RFC 4271 §6.8 connection collision, forced: the speaker connects to our scripted peer while the peer
/// connects to the speaker, and both send OPENs. The connection initiated by the side with the higher BGP
/// identifier must survive; the other gets Cease / Connection Collision Resolution.
/// </summary>
public class CollisionTests
{
    private static readonly IPAddress SpeakerIp = IPAddress.Parse("127.0.0.9");
    private static readonly IPAddress RawIp = IPAddress.Parse("127.0.0.10");

    [Theory]
    [InlineData("198.18.255.200", true)]  // peer's identifier higher: its connection (inbound to us) wins
    [InlineData("198.18.255.1", false)]   // ours higher: our outbound connection wins
    public async Task HigherIdentifiersConnectionSurvives(string rawId, bool inboundWins)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(RawIp, 0));
        listener.Listen(4);
        await using var speaker = new BgpSpeaker(new SpeakerConfig(65009, IPAddress.Parse("198.18.255.9")) { Listen = new IPEndPoint(SpeakerIp, 0) });
        speaker.Start();
        var peer = speaker.AddPeer(new PeerConfig(RawIp, 65010)
        {
            Port = ((IPEndPoint)listener.LocalEndPoint!).Port, LocalAddress = SpeakerIp, HoldTime = 30, ConnectRetry = TimeSpan.FromSeconds(30),
        });
        using var outbound = await RawPeer.AcceptAsync(listener);              // the speaker's connection
        using var inbound = await RawPeer.ConnectAsync(RawIp, new IPEndPoint(SpeakerIp, speaker.ListenPort));
        Assert.Equal(MessageType.Open, (await outbound.ReadAsync())?.Type);
        Assert.Equal(MessageType.Open, (await inbound.ReadAsync())?.Type);

        var open = OpenCodec.Encode(new OpenMessage(4, 65010, 30, IPAddress.Parse(rawId), new Capabilities { FourOctetAs = 65010 }));
        await outbound.SendAsync(open);
        await inbound.SendAsync(open);

        var (winner, loser) = inboundWins ? (inbound, outbound) : (outbound, inbound);
        var n = await loser.ReadNotificationAsync();
        Assert.Equal((ErrorCode.Cease, (byte)CeaseError.ConnectionCollisionResolution), (n?.Code, n?.Subcode));
        Assert.Equal(MessageType.Keepalive, (await winner.ReadAsync())?.Type);
        await winner.SendAsync(MessageFraming.Keepalive());
        await Eventually.True(() => peer.State == SessionState.Established, TimeSpan.FromSeconds(10), "established on the surviving connection");
    }
}
