using System.Security.Cryptography;
using XChaCha20Poly1305 = Org.BouncyCastle.Crypto.Modes.XChaCha20Poly1305;
using Org.BouncyCastle.Crypto.Parameters;

namespace Dataplane.WireGuard.Crypto;

/// <summary>
/// AEAD and XAEAD of the handshake (§5.4): ChaCha20-Poly1305 with a 64-bit little-endian counter nonce (always 0
/// in handshake messages) from the platform (OpenSSL), and XChaCha20-Poly1305 for cookie replies from BouncyCastle.
/// </summary>
public static class HandshakeAead
{
    public const int TagSize = 16;
    public const int XNonceSize = 24;

    /// <summary>AEAD(key, 0, plain, aad) → cipher (plain.Length + 16 bytes).</summary>
    public static void Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plain, ReadOnlySpan<byte> aad, Span<byte> cipher)
    {
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        using var aead = new ChaCha20Poly1305(key);
        aead.Encrypt(nonce, plain, cipher[..plain.Length], cipher.Slice(plain.Length, TagSize), aad);
    }

    /// <summary>Opens what <see cref="Seal"/> made; false when the tag does not verify.</summary>
    public static bool Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> cipher, ReadOnlySpan<byte> aad, Span<byte> plain)
    {
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        using var aead = new ChaCha20Poly1305(key);
        int n = cipher.Length - TagSize;
        try
        {
            aead.Decrypt(nonce, cipher[..n], cipher.Slice(n, TagSize), plain[..n], aad);
            return true;
        }
        catch (AuthenticationTagMismatchException) { return false; }
    }

    /// <summary>XAEAD(key, nonce, plain, aad) → cipher (plain.Length + 16 bytes).</summary>
    public static void XSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plain, ReadOnlySpan<byte> aad, Span<byte> cipher)
    {
        var x = new XChaCha20Poly1305();
        x.Init(true, new AeadParameters(new KeyParameter(key), TagSize * 8, nonce.ToArray(), aad.ToArray()));
        int n = x.ProcessBytes(plain, cipher);
        x.DoFinal(cipher[n..]);
    }

    /// <summary>Opens an XAEAD box; false when the tag does not verify.</summary>
    public static bool XOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> cipher, ReadOnlySpan<byte> aad, Span<byte> plain)
    {
        var x = new XChaCha20Poly1305();
        x.Init(false, new AeadParameters(new KeyParameter(key), TagSize * 8, nonce.ToArray(), aad.ToArray()));
        Span<byte> outBuf = stackalloc byte[cipher.Length];
        try
        {
            int n = x.ProcessBytes(cipher, outBuf);
            n += x.DoFinal(outBuf[n..]);
            outBuf[..n].CopyTo(plain);
            return true;
        }
        catch (Org.BouncyCastle.Crypto.InvalidCipherTextException) { return false; }
    }
}
