using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Dataplane.WireGuard.Peers;
using Dataplane.WireGuard.Transport;
using static Dataplane.WireGuard.Messages.MessageLayout;

namespace Dataplane.WireGuard.Device;

/// <summary>
/// The transport path (whitepaper §5.4.6): batches of packets encrypted or decrypted in place with the session's
/// ChaCha20-Poly1305 (OpenSSL), nonce = 32 zero bits ‖ 64-bit little-endian counter. Per packet: one peer lookup,
/// one AEAD call, no allocation. Anything that needs a handshake is flagged for the control loop, never waited for.
/// </summary>
public sealed partial class WireGuardDevice
{
    /// <summary>
    /// Encrypts plaintext IP packets for the peers their destinations route to. A packet leaves as
    /// <see cref="WgVerdict.Send"/> (its window now the transport message, <see cref="WgPacket.Endpoint"/> set),
    /// <see cref="WgVerdict.Staged"/> (copied to wait for a handshake) or <see cref="WgVerdict.Drop"/>.
    /// </summary>
    public void EncryptBatch(Span<WgPacket> packets)
    {
        var allowed = _allowedIps;
        long now = Stopwatch.GetTimestamp();
        long sent = 0;
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        for (int i = 0; i < packets.Length; i++)
        {
            ref var p = ref packets[i];
            var peer = allowed.LookupDestination(p.Data);
            if (peer is null) { Drop(ref p, WgCounter.DropNoPeer); continue; }
            var kp = peer.SendKeypair(now, Timers, _rejectTicks);
            if (kp is null)
            {
                peer.Stage(p.Data);
                p.Verdict = WgVerdict.Staged;
                RequestHandshake(peer);
                continue;
            }
            if (!peer.Endpoint.IsSet) { Drop(ref p, WgCounter.DropNoEndpoint); continue; }
            if (p.Offset < MessageHeadroomNeeded || p.Offset + TransportSize(p.Length) - TransportData.HeaderSize > p.Capacity)
            { Drop(ref p, WgCounter.DropTooBig); continue; }
            Seal(ref p, kp, nonce);
            p.Endpoint = peer.Endpoint;
            sent++;
            peer.AddTx(p.Length);
            OnDataSent(peer, kp, now);
        }
        if (sent != 0) Count(WgCounter.TxPackets, sent);
    }

    private const int MessageHeadroomNeeded = TransportData.HeaderSize;

    /// <summary>Seals p's plaintext in place behind a transport header: header, padded ciphertext, tag.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Seal(ref WgPacket p, Keypair kp, Span<byte> nonce)
    {
        int padded = PaddedLength(p.Length);
        var plain = new Span<byte>(p.Buffer + p.Offset, padded);
        plain[p.Length..].Clear();
        var msg = new Span<byte>(p.Buffer + p.Offset - TransportData.HeaderSize, TransportData.HeaderSize + padded + TagSize);
        ulong counter = kp.NextSendCounter();
        BinaryPrimitives.WriteUInt32LittleEndian(msg, TypeTransport);
        BinaryPrimitives.WriteUInt32LittleEndian(msg[TransportData.Receiver..], kp.RemoteIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(msg[TransportData.Counter..], counter);
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
        var body = msg.Slice(TransportData.HeaderSize, padded);
        lock (kp.SendLock) kp.Send.Encrypt(nonce, body, body, msg.Slice(TransportData.HeaderSize + padded, TagSize));
        p.Offset -= TransportData.HeaderSize;
        p.Length = msg.Length;
        p.Verdict = WgVerdict.Send;
    }

    private void OnDataSent(Peer peer, Keypair kp, long now)
    {
        peer.KeepaliveAt = 0;
        if (peer.NewHandshakeAt == 0) peer.NewHandshakeAt = now + ToTicks(Timers.KeepaliveTimeout + Timers.RekeyTimeout);
        if (peer.PersistentKeepalive > 0) peer.PersistentKeepaliveAt = now + peer.PersistentKeepalive * Stopwatch.Frequency;
        // §6.2: the initiator of a session rekeys when it gets old or has sent many messages.
        if (kp.IsInitiator && (now - kp.CreatedTicks >= _rekeyTicks || kp.SentCount >= Timers.RekeyAfterMessages))
            RequestHandshake(peer);
    }

    /// <summary>
    /// Classifies and opens received datagrams (<see cref="WgPacket.Endpoint"/> = their source). Transport
    /// messages are decrypted in place: <see cref="WgVerdict.Deliver"/> leaves the inner IP packet in the window
    /// (padding stripped), keepalives are <see cref="WgVerdict.Consumed"/>; handshake messages are copied to the
    /// control loop's queue (Consumed) or dropped when it is full.
    /// </summary>
    public void DecryptBatch(Span<WgPacket> packets)
    {
        var allowed = _allowedIps;
        long now = Stopwatch.GetTimestamp();
        long received = 0;
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        for (int i = 0; i < packets.Length; i++)
        {
            ref var p = ref packets[i];
            var data = p.Data;
            if (data.Length < 4 || data[1] != 0 || data[2] != 0 || data[3] != 0) { Drop(ref p, WgCounter.DropMalformed); continue; }
            byte type = data[0];
            if (type != TypeTransport)
            {
                if ((type == TypeInitiation && data.Length == Initiation.Size) || (type == TypeResponse && data.Length == Response.Size)
                    || (type == TypeCookieReply && data.Length == CookieReply.Size))
                {
                    if (EnqueueHandshake(data, p.Endpoint)) p.Verdict = WgVerdict.Consumed;
                    else Drop(ref p, WgCounter.DropHandshakeQueueFull);
                }
                else Drop(ref p, WgCounter.DropMalformed);
                continue;
            }
            if (data.Length < TransportData.MinSize) { Drop(ref p, WgCounter.DropMalformed); continue; }
            uint receiver = BinaryPrimitives.ReadUInt32LittleEndian(data[TransportData.Receiver..]);
            if (!_indices.TryGet(receiver, out var entry) || entry.Keypair is not { } kp) { Drop(ref p, WgCounter.DropUnknownIndex); continue; }
            ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(data[TransportData.Counter..]);
            if (now - kp.CreatedTicks >= _rejectTicks || counter >= Timers.RejectAfterMessages) { Drop(ref p, WgCounter.DropKeyExpired); continue; }
            if (!kp.Replay.MayAccept(counter)) { Drop(ref p, WgCounter.DropReplay); continue; }

            BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
            int bodyLength = data.Length - TransportData.MinSize;
            var body = data.Slice(TransportData.HeaderSize, bodyLength);
            if (!Open(kp, nonce, body, data.Slice(TransportData.HeaderSize + bodyLength, TagSize))) { Drop(ref p, WgCounter.DropDecrypt); continue; }
            bool fresh;
            lock (kp.ReceiveLock) fresh = kp.Replay.Accept(counter);
            if (!fresh) { Drop(ref p, WgCounter.DropReplay); continue; }

            var peer = kp.Peer;
            if (ReferenceEquals(peer.Next, kp)) PromoteNext(peer, kp);
            if (peer.Endpoint != p.Endpoint) peer.Endpoint = p.Endpoint;
            peer.AddRx(data.Length);
            OnAuthenticatedReceive(peer, kp, now);
            received++;

            if (bodyLength == 0) { p.Verdict = WgVerdict.Consumed; Count(WgCounter.KeepalivesReceived); continue; }
            int innerLength = InnerLength(body);
            if (innerLength <= 0 || innerLength > bodyLength) { Drop(ref p, WgCounter.DropMalformed); continue; }
            var inner = body[..innerLength];
            if (!ReferenceEquals(allowed.LookupSource(inner), peer)) { Drop(ref p, WgCounter.DropNotAllowedSource); continue; }
            if (peer.KeepaliveAt == 0) peer.KeepaliveAt = now + ToTicks(Timers.KeepaliveTimeout);
            p.Offset += TransportData.HeaderSize;
            p.Length = innerLength;
            p.Verdict = WgVerdict.Deliver;
        }
        if (received != 0) Count(WgCounter.RxPackets, received);
    }

    /// <summary>Opens in place. A forged packet costs OpenSSL's tag check and, in .NET, one exception — on the drop path only.</summary>
    private static bool Open(Keypair kp, ReadOnlySpan<byte> nonce, Span<byte> body, ReadOnlySpan<byte> tag)
    {
        try
        {
            lock (kp.ReceiveLock) kp.Receive.Decrypt(nonce, body, tag, body);
            return true;
        }
        catch (AuthenticationTagMismatchException) { return false; }
    }

    private void OnAuthenticatedReceive(Peer peer, Keypair kp, long now)
    {
        peer.NewHandshakeAt = 0;
        // §6.2: an old session we initiated is renewed from the receive side too, before it is rejected.
        if (kp.IsInitiator && now - kp.CreatedTicks >= _rekeyOnReceiveTicks && Interlocked.Exchange(ref kp.RekeyRequested, 1) == 0)
            RequestHandshake(peer);
    }

    /// <summary>The IP packet's own length (the plaintext is zero-padded to 16 bytes); 0 if it is not IPv4/IPv6.</summary>
    private static int InnerLength(ReadOnlySpan<byte> body)
    {
        int version = body[0] >> 4;
        if (version == 4 && body.Length >= 20) return BinaryPrimitives.ReadUInt16BigEndian(body[2..]);
        if (version == 6 && body.Length >= 40) return 40 + BinaryPrimitives.ReadUInt16BigEndian(body[4..]);
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Drop(ref WgPacket p, WgCounter reason)
    {
        p.Verdict = WgVerdict.Drop;
        p.DropReason = reason;
        Count(reason);
    }
}
