using System.Net;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Tests.Wire;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Session;

/// <summary>
/// Mutated whole messages (marker, type and body; the length field is kept so framing stays in step) sent
/// to a live session, each followed by a ROUTE-REFRESH probe. The speaker must either still answer the
/// probe (message accepted) or send a NOTIFICATION — header (1), UPDATE (3) or FSM (5, a type turned into
/// OPEN) — and close; a message turned into a NOTIFICATION just closes. Never a crash or a hang.
/// </summary>
public class SessionFuzzTests
{
    private static readonly IPAddress Speaker = IPAddress.Parse("127.0.0.7");
    private static readonly IPAddress Raw = IPAddress.Parse("127.0.0.8");

    [Fact]
    public async Task MutatedMessagesOverTcpGetNotificationsOrAreAccepted()
    {
        await using var speaker = new BgpSpeaker(new SpeakerConfig(65005, IPAddress.Parse("198.18.255.7")) { Listen = new IPEndPoint(Speaker, 0) });
        speaker.Start();
        var peer = speaker.AddPeer(new PeerConfig(Raw, 65010) { Passive = true, HoldTime = 30 });
        var probe = BgpPrefix.Parse("198.18.91.0/24");
        speaker.Announce(new Dataplane.Bgp.Rib.LocalRoute(probe));
        var rnd = new Random(179);
        int notifications = 0, accepted = 0;
        RawPeer? raw = null;
        try
        {
            for (int i = 0; i < 300; i++)
            {
                if (raw is null)
                {
                    await Eventually.True(() => peer.State is SessionState.Active or SessionState.Idle or SessionState.Connect, TimeSpan.FromSeconds(10), "previous session gone");
                    raw = await RawPeer.ConnectAsync(Raw, new IPEndPoint(Speaker, speaker.ListenPort));
                    await raw.SendAsync(OpenCodec.Encode(new OpenMessage(4, 65010, 30, IPAddress.Parse("198.18.255.8"),
                        new Capabilities { Families = [Family.Ipv4Unicast, Family.Ipv6Unicast], FourOctetAs = 65010 })));
                    await raw.SendAsync(MessageFraming.Keepalive());
                    await Eventually.True(() => peer.State == SessionState.Established, TimeSpan.FromSeconds(10), "established");
                    Assert.NotNull(await NextReply(raw)); // the initial announcement
                }
                var msg = MessageFraming.Frame(MessageType.Update, UpdateFuzzTests.RandomUpdateBody(rnd));
                int at = rnd.Next(msg.Length - 2);
                if (at >= 16) at += 2; // not the length field
                msg[at] = (byte)rnd.Next(256);
                await raw.SendAsync(msg);
                await raw.SendAsync(RouteRefreshMessage.Encode(Family.Ipv4Unicast));
                var reply = await NextReply(raw);
                if (reply is { Type: MessageType.Update }) { accepted++; continue; }
                if (reply is null) Assert.Equal((byte)MessageType.Notification, msg[18]);
                else Assert.Contains(NotificationMessage.Decode(reply.Value.Body).Code, new[] { ErrorCode.MessageHeader, ErrorCode.UpdateMessage, ErrorCode.FiniteStateMachine });
                notifications++;
                raw.Dispose();
                raw = null;
            }
        }
        finally
        {
            raw?.Dispose();
        }
        Assert.True(notifications > 10 && accepted > 10, $"notifications {notifications}, accepted {accepted}");
    }

    /// <summary>The next UPDATE with prefixes or NOTIFICATION (KEEPALIVEs and End-of-RIB skipped); null on close.</summary>
    private static async Task<(MessageType Type, byte[] Body)?> NextReply(RawPeer raw)
    {
        for (int i = 0; i < 20; i++)
        {
            var m = await raw.ReadAsync();
            if (m is null) return null;
            if (m.Value.Type == MessageType.Notification) return m;
            if (m.Value.Type == MessageType.Update && m.Value.Body.Length > 4 + 3) return m;
        }
        return null;
    }
}
