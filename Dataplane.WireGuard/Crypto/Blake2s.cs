using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;

namespace Dataplane.WireGuard.Crypto;

/// <summary>
/// The BLAKE2s constructions of the WireGuard whitepaper (§5.4): HASH (BLAKE2s-256), MAC (keyed BLAKE2s-128),
/// HMAC (HMAC over BLAKE2s-256) and KDF1..3 (HKDF with that HMAC). BouncyCastle does the hashing; these run on
/// the handshake path only, never per transport packet.
/// </summary>
public static class Blake2s
{
    public const int HashSize = 32;
    public const int MacSize = 16;

    /// <summary>HASH(a || b).</summary>
    public static void Hash(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> output)
    {
        var d = new Blake2sDigest(HashSize * 8);
        d.BlockUpdate(a);
        d.BlockUpdate(b);
        d.DoFinal(output);
    }

    /// <summary>MAC(key, input): BLAKE2s keyed with <paramref name="key"/>, 16-byte digest (mac1, mac2, cookies).</summary>
    public static void Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> output)
    {
        var d = new Blake2sDigest(key.ToArray(), MacSize, null, null);
        d.BlockUpdate(input);
        d.DoFinal(output);
    }

    /// <summary>HMAC(key, input) with BLAKE2s-256 (block size 64).</summary>
    public static void Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> output)
    {
        var h = new HMac(new Blake2sDigest(HashSize * 8));
        h.Init(new KeyParameter(key));
        h.BlockUpdate(input);
        h.DoFinal(output);
    }

    /// <summary>KDF_n(key, input) for n = 1..3 (§5.4): τ0 = HMAC(key, input), τi = HMAC(τ0, τ(i-1) || i).</summary>
    public static void Kdf(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2, Span<byte> t3)
    {
        Span<byte> t0 = stackalloc byte[HashSize];
        Span<byte> buf = stackalloc byte[HashSize + 1];
        Hmac(key, input, t0);
        buf[0] = 1;
        Hmac(t0, buf[..1], t1);
        if (!t2.IsEmpty)
        {
            t1.CopyTo(buf); buf[HashSize] = 2;
            Hmac(t0, buf, t2);
            if (!t3.IsEmpty)
            {
                t2.CopyTo(buf); buf[HashSize] = 3;
                Hmac(t0, buf, t3);
            }
        }
        t0.Clear();
        buf.Clear();
    }
}
