using Dataplane.WireGuard.Crypto;

namespace Dataplane.WireGuard.Noise;

/// <summary>
/// The protocol's fixed strings and what is derived from them once (§5.4): the initial chaining key
/// Ci = HASH(Construction) and hash Hi = HASH(Ci || Identifier), and the labels of mac1 and cookie keys.
/// </summary>
public static class Protocol
{
    public static ReadOnlySpan<byte> Construction => "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"u8;
    public static ReadOnlySpan<byte> Identifier => "WireGuard v1 zx2c4 Jason@zx2c4.com"u8;
    public static ReadOnlySpan<byte> LabelMac1 => "mac1----"u8;
    public static ReadOnlySpan<byte> LabelCookie => "cookie--"u8;

    public static readonly byte[] InitialChainingKey = HashOf(Construction, default);
    public static readonly byte[] InitialHash = HashOf(InitialChainingKey, Identifier);

    private static byte[] HashOf(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var h = new byte[Blake2s.HashSize];
        Blake2s.Hash(a, b, h);
        return h;
    }

    /// <summary>HASH(label || publicKey): the key of mac1 (label "mac1----") or of cookie replies ("cookie--") for a receiver.</summary>
    public static byte[] LabelKey(ReadOnlySpan<byte> label, ReadOnlySpan<byte> publicKey)
    {
        var key = new byte[Blake2s.HashSize];
        Blake2s.Hash(label, publicKey, key);
        return key;
    }
}
