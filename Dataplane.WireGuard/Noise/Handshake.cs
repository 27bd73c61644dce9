using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Messages;
using static Dataplane.WireGuard.Messages.MessageLayout;

namespace Dataplane.WireGuard.Noise;

internal enum HandshakeState : byte { Zeroed, InitiationCreated, InitiationConsumed, ResponseCreated, ResponseConsumed }

/// <summary>
/// The Noise_IKpsk2 state one peer's handshake carries between messages (whitepaper §5.4.2–§5.4.5): chaining
/// key, hash, our ephemeral key, theirs, the indices, and the last initiation timestamp accepted from the peer.
/// Each step computes on copies and commits only when every check passed, so a forged message changes nothing.
/// Callers hold <see cref="Lock"/>.
/// </summary>
internal sealed class Handshake
{
    private const int K = Blake2s.HashSize;

    public readonly Lock Lock = new();
    public HandshakeState State;
    public readonly byte[] Hash = new byte[K], ChainKey = new byte[K];
    public readonly byte[] LocalEphemeral = new byte[K], RemoteEphemeral = new byte[K];
    public readonly byte[] LastTimestamp = new byte[Tai64n.Size];
    public uint LocalIndex, RemoteIndex;
    public long LastInitiationConsumedTicks = long.MinValue;

    private readonly byte[] _remoteStatic;
    private readonly byte[] _staticStatic = new byte[K];
    private readonly bool _staticStaticValid;
    public byte[] PresharedKey = new byte[K];

    public Handshake(StaticIdentity local, WgKey remoteStatic)
    {
        _remoteStatic = remoteStatic.ToArray();
        // DH(S_priv, S_pub_remote) never changes for the pair: computed once, as the whitepaper suggests.
        _staticStaticValid = Curve25519.SharedSecret(local.PrivateKey, _remoteStatic, _staticStatic);
    }

    public ReadOnlySpan<byte> StaticStatic => _staticStatic;
    public bool StaticStaticValid => _staticStaticValid;

    /// <summary>Fills an initiation (all but mac1/mac2) and moves to InitiationCreated; false if DH is degenerate.</summary>
    public bool CreateInitiation(StaticIdentity local, Span<byte> msg, uint localIndex)
    {
        if (!_staticStaticValid) return false;
        Span<byte> ck = stackalloc byte[K], h = stackalloc byte[K], key = stackalloc byte[K], dh = stackalloc byte[K], eph = stackalloc byte[K];
        msg[..Initiation.Size].Clear();
        msg[0] = TypeInitiation;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(msg[Initiation.Sender..], localIndex);

        Protocol.InitialChainingKey.CopyTo(ck);
        Blake2s.Hash(Protocol.InitialHash, _remoteStatic, h);
        Curve25519.GeneratePrivateKey(eph);
        var ephPub = msg.Slice(Initiation.Ephemeral, KeySize);
        Curve25519.PublicKey(eph, ephPub);
        Blake2s.Hash(h, ephPub, h);
        Blake2s.Kdf(ck, ephPub, ck, default, default);
        if (!Curve25519.SharedSecret(eph, _remoteStatic, dh)) return false;
        Blake2s.Kdf(ck, dh, ck, key, default);
        Span<byte> ourPub = stackalloc byte[K];
        local.PublicKey.CopyTo(ourPub);
        var sealedStatic = msg.Slice(Initiation.Static, KeySize + TagSize);
        HandshakeAead.Seal(key, ourPub, h, sealedStatic);
        Blake2s.Hash(h, sealedStatic, h);
        Blake2s.Kdf(ck, _staticStatic, ck, key, default);
        Span<byte> ts = stackalloc byte[Tai64n.Size];
        Tai64n.Now(ts);
        var sealedTs = msg.Slice(Initiation.Timestamp, Tai64n.Size + TagSize);
        HandshakeAead.Seal(key, ts, h, sealedTs);
        Blake2s.Hash(h, sealedTs, h);

        ck.CopyTo(ChainKey); h.CopyTo(Hash); eph.CopyTo(LocalEphemeral);
        LocalIndex = localIndex;
        State = HandshakeState.InitiationCreated;
        key.Clear(); dh.Clear(); eph.Clear();
        return true;
    }

    /// <summary>
    /// The responder's part of an initiation after the device found this peer from the decrypted static key:
    /// opens the timestamp, refuses replays (not newer than the last accepted) and floods (faster than one per
    /// <paramref name="minInterval"/> ticks), then commits. <paramref name="ck"/>/<paramref name="h"/> come in
    /// after the static key was mixed.
    /// </summary>
    public InitiationResult CompleteInitiation(ReadOnlySpan<byte> msg, Span<byte> ck, Span<byte> h, long nowTicks, long minInterval)
    {
        Span<byte> key = stackalloc byte[K], ts = stackalloc byte[Tai64n.Size];
        Blake2s.Kdf(ck, _staticStatic, ck, key, default);
        var sealedTs = msg.Slice(Initiation.Timestamp, Tai64n.Size + TagSize);
        if (!HandshakeAead.Open(key, sealedTs, h, ts)) return InitiationResult.Invalid;
        Blake2s.Hash(h, sealedTs, h);
        if (!Tai64n.After(ts, LastTimestamp)) return InitiationResult.Replay;
        if (LastInitiationConsumedTicks != long.MinValue && nowTicks - LastInitiationConsumedTicks < minInterval) return InitiationResult.Flood;

        ck.CopyTo(ChainKey); h.CopyTo(Hash);
        msg.Slice(Initiation.Ephemeral, KeySize).CopyTo(RemoteEphemeral);
        RemoteIndex = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(msg[Initiation.Sender..]);
        ts.CopyTo(LastTimestamp);
        LastInitiationConsumedTicks = nowTicks;
        State = HandshakeState.InitiationConsumed;
        key.Clear();
        return InitiationResult.Ok;
    }

    /// <summary>Fills a response (all but mac1/mac2) to the consumed initiation and moves to ResponseCreated.</summary>
    public bool CreateResponse(Span<byte> msg, uint localIndex)
    {
        if (State != HandshakeState.InitiationConsumed) return false;
        Span<byte> ck = stackalloc byte[K], h = stackalloc byte[K], key = stackalloc byte[K], tau = stackalloc byte[K], dh = stackalloc byte[K], eph = stackalloc byte[K];
        ChainKey.CopyTo(ck); Hash.CopyTo(h);
        msg[..Response.Size].Clear();
        msg[0] = TypeResponse;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(msg[Response.Sender..], localIndex);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(msg[Response.Receiver..], RemoteIndex);

        Curve25519.GeneratePrivateKey(eph);
        var ephPub = msg.Slice(Response.Ephemeral, KeySize);
        Curve25519.PublicKey(eph, ephPub);
        Blake2s.Hash(h, ephPub, h);
        Blake2s.Kdf(ck, ephPub, ck, default, default);
        if (!Curve25519.SharedSecret(eph, RemoteEphemeral, dh)) return false;
        Blake2s.Kdf(ck, dh, ck, default, default);
        if (!Curve25519.SharedSecret(eph, _remoteStatic, dh)) return false;
        Blake2s.Kdf(ck, dh, ck, default, default);
        Blake2s.Kdf(ck, PresharedKey, ck, tau, key);
        Blake2s.Hash(h, tau, h);
        var sealedEmpty = msg.Slice(Response.Empty, TagSize);
        HandshakeAead.Seal(key, default, h, sealedEmpty);
        Blake2s.Hash(h, sealedEmpty, h);

        ck.CopyTo(ChainKey); h.CopyTo(Hash);
        LocalIndex = localIndex;
        State = HandshakeState.ResponseCreated;
        key.Clear(); tau.Clear(); dh.Clear(); eph.Clear();
        return true;
    }

    /// <summary>Checks a response to our initiation and moves to ResponseConsumed; false (nothing changed) if it does not verify.</summary>
    public bool ConsumeResponse(StaticIdentity local, ReadOnlySpan<byte> msg)
    {
        if (State != HandshakeState.InitiationCreated) return false;
        Span<byte> ck = stackalloc byte[K], h = stackalloc byte[K], key = stackalloc byte[K], tau = stackalloc byte[K], dh = stackalloc byte[K];
        ChainKey.CopyTo(ck); Hash.CopyTo(h);
        var ephPub = msg.Slice(Response.Ephemeral, KeySize);
        Blake2s.Hash(h, ephPub, h);
        Blake2s.Kdf(ck, ephPub, ck, default, default);
        if (!Curve25519.SharedSecret(LocalEphemeral, ephPub, dh)) return false;
        Blake2s.Kdf(ck, dh, ck, default, default);
        if (!Curve25519.SharedSecret(local.PrivateKey, ephPub, dh)) return false;
        Blake2s.Kdf(ck, dh, ck, default, default);
        Blake2s.Kdf(ck, PresharedKey, ck, tau, key);
        Blake2s.Hash(h, tau, h);
        var sealedEmpty = msg.Slice(Response.Empty, TagSize);
        if (!HandshakeAead.Open(key, sealedEmpty, h, default)) return false;
        Blake2s.Hash(h, sealedEmpty, h);

        ck.CopyTo(ChainKey); h.CopyTo(Hash);
        RemoteIndex = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(msg[Response.Sender..]);
        State = HandshakeState.ResponseConsumed;
        key.Clear(); tau.Clear(); dh.Clear();
        return true;
    }

    /// <summary>
    /// (T_send, T_recv) = KDF2(C, ε) from the initiator's view (§5.4.5), swapped for the responder; then the
    /// handshake state is wiped. Valid after ResponseCreated (responder) or ResponseConsumed (initiator).
    /// </summary>
    public bool DeriveTransportKeys(Span<byte> sendKey, Span<byte> receiveKey, out bool isInitiator)
    {
        isInitiator = State == HandshakeState.ResponseConsumed;
        if (!isInitiator && State != HandshakeState.ResponseCreated) return false;
        if (isInitiator) Blake2s.Kdf(ChainKey, default, sendKey, receiveKey, default);
        else Blake2s.Kdf(ChainKey, default, receiveKey, sendKey, default);
        Clear();
        return true;
    }

    /// <summary>Forgets the in-flight handshake (not the replay timestamp, which must outlive sessions).</summary>
    public void Clear()
    {
        Array.Clear(ChainKey); Array.Clear(Hash); Array.Clear(LocalEphemeral); Array.Clear(RemoteEphemeral);
        State = HandshakeState.Zeroed;
    }
}

internal enum InitiationResult : byte { Ok, Invalid, Replay, Flood }
