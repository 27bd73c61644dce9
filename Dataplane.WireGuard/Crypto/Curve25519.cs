using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc7748;

namespace Dataplane.WireGuard.Crypto;

/// <summary>X25519 (RFC 7748) from BouncyCastle: key generation and DH for the handshake.</summary>
public static class Curve25519
{
    public const int KeySize = 32;

    /// <summary>A fresh clamped private key from the system CSPRNG.</summary>
    public static void GeneratePrivateKey(Span<byte> privateKey)
    {
        RandomNumberGenerator.Fill(privateKey);
        X25519.ClampPrivateKey(privateKey);
    }

    public static void PublicKey(ReadOnlySpan<byte> privateKey, Span<byte> publicKey) => X25519.GeneratePublicKey(privateKey, publicKey);

    /// <summary>DH(private, public); false when the result is all zeros (a low-order point): the handshake is refused.</summary>
    public static bool SharedSecret(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> shared) =>
        X25519.CalculateAgreement(privateKey, publicKey, shared);
}
