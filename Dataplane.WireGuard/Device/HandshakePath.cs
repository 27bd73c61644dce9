using System.Buffers.Binary;
using System.Diagnostics;
using Dataplane.WireGuard.Noise;
using Dataplane.WireGuard.Peers;
using Dataplane.WireGuard.Transport;
using static Dataplane.WireGuard.Messages.MessageLayout;

namespace Dataplane.WireGuard.Device;

/// <summary>
/// Handshake messages on the control loop (whitepaper §5.4.2–§5.4.7): mac1 always, mac2 and cookie replies
/// under load, then the Noise step and the session it yields. Nothing here runs on a worker's packet path.
/// </summary>
public sealed partial class WireGuardDevice
{
    /// <summary>Initiations from one peer closer together than this are dropped (flood guard, as wireguard-go: 50 per second).</summary>
    private static readonly long MinInitiationInterval = Stopwatch.Frequency / 50;

    private void HandleHandshakeMessage(ReadOnlySpan<byte> msg, in WgEndpoint source, bool underLoad)
    {
        switch (msg[0])
        {
            case TypeInitiation: HandleInitiation(msg, source, underLoad); break;
            case TypeResponse: HandleResponse(msg, source, underLoad); break;
            case TypeCookieReply: HandleCookieReply(msg); break;
        }
    }

    /// <summary>mac1, then (under load) mac2 — answered with a cookie reply when it is missing or stale.</summary>
    private bool PassesMacs(ReadOnlySpan<byte> msg, int mac1Offset, uint senderIndex, in WgEndpoint source, bool underLoad)
    {
        if (!_cookies.CheckMac1(msg, mac1Offset)) { Count(WgCounter.DropMac1); return false; }
        if (!underLoad || _cookies.CheckMac2(msg, mac1Offset + MacSize, source)) return true;
        Span<byte> reply = stackalloc byte[CookieReply.Size];
        _cookies.WriteReply(msg, mac1Offset, senderIndex, source, reply);
        _sender.Send(reply, source);
        Count(WgCounter.CookieRepliesSent);
        Count(WgCounter.DropUnderLoadNoCookie);
        return false;
    }

    private void HandleInitiation(ReadOnlySpan<byte> msg, in WgEndpoint source, bool underLoad)
    {
        uint sender = BinaryPrimitives.ReadUInt32LittleEndian(msg[Initiation.Sender..]);
        if (!PassesMacs(msg, Initiation.Mac1, sender, source, underLoad)) return;
        Span<byte> ck = stackalloc byte[32], h = stackalloc byte[32];
        if (!InitiationOpener.TryOpenStatic(Identity, msg, ck, h, out var initiator)) { Count(WgCounter.DropHandshakeInvalid); return; }
        var peer = FindPeer(initiator);
        if (peer is null) { Count(WgCounter.DropUnknownPeer); return; }

        Span<byte> response = stackalloc byte[Response.Size];
        Span<byte> sendKey = stackalloc byte[32], receiveKey = stackalloc byte[32];
        Keypair kp;
        lock (peer.Handshake.Lock)
        {
            var hs = peer.Handshake;
            if (hs.State == HandshakeState.InitiationCreated) _indices.Remove(hs.LocalIndex);
            switch (hs.CompleteInitiation(msg, ck, h, Stopwatch.GetTimestamp(), MinInitiationInterval))
            {
                case InitiationResult.Invalid: Count(WgCounter.DropHandshakeInvalid); return;
                case InitiationResult.Replay: Count(WgCounter.DropHandshakeReplay); return;
                case InitiationResult.Flood: Count(WgCounter.DropHandshakeFlood); return;
            }
            uint local = _indices.NewHandshakeIndex(peer);
            if (!hs.CreateResponse(response, local)) { _indices.Remove(local); Count(WgCounter.DropHandshakeInvalid); return; }
            uint remote = hs.RemoteIndex;
            hs.DeriveTransportKeys(sendKey, receiveKey, out _);
            kp = new Keypair(peer, sendKey, receiveKey, local, remote, isInitiator: false, Stopwatch.GetTimestamp());
        }
        sendKey.Clear(); receiveKey.Clear();
        peer.Endpoint = source;
        InstallKeypair(peer, kp);
        peer.Cookies.AddMacs(response, Response.Mac1);
        _sender.Send(response, source);
        Count(WgCounter.HandshakeResponsesSent);
        Count(WgCounter.HandshakesCompleted);
        peer.KeepaliveAt = 0;
        peer.NewHandshakeAt = 0;
    }

    private void HandleResponse(ReadOnlySpan<byte> msg, in WgEndpoint source, bool underLoad)
    {
        uint sender = BinaryPrimitives.ReadUInt32LittleEndian(msg[Response.Sender..]);
        if (!PassesMacs(msg, Response.Mac1, sender, source, underLoad)) return;
        uint receiver = BinaryPrimitives.ReadUInt32LittleEndian(msg[Response.Receiver..]);
        if (!_indices.TryGet(receiver, out var entry) || entry.Keypair is not null) { Count(WgCounter.DropHandshakeStale); return; }
        var peer = entry.Peer;
        Span<byte> sendKey = stackalloc byte[32], receiveKey = stackalloc byte[32];
        Keypair kp;
        lock (peer.Handshake.Lock)
        {
            var hs = peer.Handshake;
            if (hs.State != HandshakeState.InitiationCreated || hs.LocalIndex != receiver || !hs.ConsumeResponse(Identity, msg))
            { Count(WgCounter.DropHandshakeInvalid); return; }
            uint remote = hs.RemoteIndex;
            hs.DeriveTransportKeys(sendKey, receiveKey, out _);
            kp = new Keypair(peer, sendKey, receiveKey, receiver, remote, isInitiator: true, Stopwatch.GetTimestamp());
        }
        sendKey.Clear(); receiveKey.Clear();
        peer.Endpoint = source;
        InstallKeypair(peer, kp);
        Count(WgCounter.HandshakesCompleted);
        peer.RetransmitAt = 0;
        peer.HandshakeAttemptStarted = 0;
        peer.NewHandshakeAt = 0;
        // The responder may send only once our first message confirms the session: staged packets, or a keepalive.
        if (!FlushStaged(peer)) SendKeepalive(peer);
    }

    private void HandleCookieReply(ReadOnlySpan<byte> msg)
    {
        uint receiver = BinaryPrimitives.ReadUInt32LittleEndian(msg[CookieReply.Receiver..]);
        if (!_indices.TryGet(receiver, out var entry)) { Count(WgCounter.DropHandshakeStale); return; }
        if (entry.Peer.Cookies.ConsumeReply(msg)) Count(WgCounter.CookieRepliesAccepted);
        else Count(WgCounter.DropCookieInvalid);
    }

    /// <summary>Sends a new initiation to the peer (a fresh index and ephemeral key each time).</summary>
    private void SendInitiation(Peer peer, long now)
    {
        var endpoint = peer.Endpoint;
        if (!endpoint.IsSet) return;
        Span<byte> msg = stackalloc byte[Initiation.Size];
        lock (peer.Handshake.Lock)
        {
            var hs = peer.Handshake;
            if (hs.State == HandshakeState.InitiationCreated) _indices.Remove(hs.LocalIndex);
            uint local = _indices.NewHandshakeIndex(peer);
            if (!hs.CreateInitiation(Identity, msg, local)) { _indices.Remove(local); Count(WgCounter.DropHandshakeInvalid); return; }
        }
        peer.Cookies.AddMacs(msg, Initiation.Mac1);
        _sender.Send(msg, endpoint);
        Count(WgCounter.HandshakeInitiationsSent);
        peer.LastInitiationSent = now;
        if (peer.HandshakeAttemptStarted == 0) peer.HandshakeAttemptStarted = now;
        // Rekey-Timeout plus up to a third of a second of jitter (§6.4), so both sides do not retry in lockstep.
        peer.RetransmitAt = now + ToTicks(Timers.RekeyTimeout) + Random.Shared.NextInt64(Stopwatch.Frequency / 3);
        peer.KeepaliveAt = 0;
    }
}
