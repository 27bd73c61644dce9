using BenchmarkDotNet.Attributes;
using Dataplane.WireGuard.Crypto;

namespace Dataplane.Benchmarks.WireGuard;

/// <summary>
/// The library choices, one operation each: ChaCha20-Poly1305 over 1400 B from the platform (OpenSSL, what the
/// transport uses) against BouncyCastle's managed one; X25519 and BLAKE2s from BouncyCastle (handshake only).
/// </summary>
[MemoryDiagnoser]
public class PrimitiveBenchmarks
{
    private readonly byte[] _key = new byte[32], _nonce = new byte[12], _plain = new byte[1400], _cipher = new byte[1400], _tag = new byte[16];
    private readonly byte[] _out = new byte[1416];
    private System.Security.Cryptography.ChaCha20Poly1305 _openssl = null!;
    private readonly byte[] _priv = new byte[32], _pub = new byte[32], _shared = new byte[32], _hash = new byte[32];

    [GlobalSetup]
    public void Setup()
    {
        new Random(7).NextBytes(_key);
        new Random(8).NextBytes(_plain);
        _openssl = new System.Security.Cryptography.ChaCha20Poly1305(_key);
        Curve25519.GeneratePrivateKey(_priv);
        Curve25519.PublicKey(_priv, _pub);
    }

    [Benchmark(Baseline = true)]
    public void ChaChaPolyOpenSsl1400() => _openssl.Encrypt(_nonce, _plain, _cipher, _tag);

    [Benchmark]
    public void ChaChaPolyBouncyCastle1400()
    {
        var c = new Org.BouncyCastle.Crypto.Modes.ChaCha20Poly1305();
        c.Init(true, new Org.BouncyCastle.Crypto.Parameters.AeadParameters(new Org.BouncyCastle.Crypto.Parameters.KeyParameter(_key), 128, _nonce));
        int n = c.ProcessBytes(_plain, 0, _plain.Length, _out, 0);
        c.DoFinal(_out, n);
    }

    [Benchmark]
    public bool X25519() => Curve25519.SharedSecret(_priv, _pub, _shared);

    [Benchmark]
    public void Blake2sHash64() => Blake2s.Hash(_plain.AsSpan(0, 32), _plain.AsSpan(32, 32), _hash);
}
