using Dataplane.WireGuard.Crypto;
using static Dataplane.WireGuard.Messages.MessageLayout;

namespace Dataplane.WireGuard.Noise;

/// <summary>
/// The first half of consuming an initiation, before the sender is known (§5.4.2): mix the ephemeral key, DH
/// it with our static key, and open the sealed static key that names the initiating peer.
/// </summary>
internal static class InitiationOpener
{
    /// <summary>On success <paramref name="ck"/> and <paramref name="h"/> hold the state after the static key was mixed.</summary>
    public static bool TryOpenStatic(StaticIdentity local, ReadOnlySpan<byte> msg, Span<byte> ck, Span<byte> h, out WgKey initiator)
    {
        initiator = default;
        Span<byte> key = stackalloc byte[Blake2s.HashSize], dh = stackalloc byte[Blake2s.HashSize], pub = stackalloc byte[KeySize], ours = stackalloc byte[KeySize];
        local.PublicKey.CopyTo(ours);
        Protocol.InitialChainingKey.CopyTo(ck);
        Blake2s.Hash(Protocol.InitialHash, ours, h);
        var eph = msg.Slice(Initiation.Ephemeral, KeySize);
        Blake2s.Hash(h, eph, h);
        Blake2s.Kdf(ck, eph, ck, default, default);
        if (!Curve25519.SharedSecret(local.PrivateKey, eph, dh)) return false;
        Blake2s.Kdf(ck, dh, ck, key, default);
        var sealedStatic = msg.Slice(Initiation.Static, KeySize + TagSize);
        if (!HandshakeAead.Open(key, sealedStatic, h, pub)) return false;
        Blake2s.Hash(h, sealedStatic, h);
        initiator = new WgKey(pub);
        key.Clear(); dh.Clear();
        return true;
    }
}
