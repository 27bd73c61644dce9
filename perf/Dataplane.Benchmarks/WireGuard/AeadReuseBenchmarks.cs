using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;

namespace Dataplane.Benchmarks.WireGuard;

/// <summary>
/// What one transport AEAD call costs through .NET's <see cref="ChaCha20Poly1305"/> (OpenSSL), by how the instance
/// is held: one instance per keypair, keyed once and used for every packet (what <c>Keypair</c> does), against a new
/// instance per packet (key set up, context made and freed each time). .NET has no batch AEAD call, so a batch of 64
/// is 64 calls either way; the batch variants show what per-call overhead a batch does not amortise.
/// </summary>
[MemoryDiagnoser]
public class AeadReuseBenchmarks
{
    private const int Batch = 64;

    [Params(64, 1400)]
    public int Size { get; set; }

    private readonly byte[] _key = new byte[32], _nonce = new byte[12], _tag = new byte[16];
    private byte[] _plain = null!, _cipher = null!;
    private ChaCha20Poly1305 _keyed = null!;

    [GlobalSetup]
    public void Setup()
    {
        new Random(7).NextBytes(_key);
        _plain = new byte[Size];
        _cipher = new byte[Size];
        new Random(8).NextBytes(_plain);
        _keyed = new ChaCha20Poly1305(_key);
    }

    [GlobalCleanup]
    public void Cleanup() => _keyed.Dispose();

    [Benchmark(Baseline = true)]
    public void ReusedInstance() => _keyed.Encrypt(_nonce, _plain, _cipher, _tag);

    [Benchmark]
    public void FreshInstance()
    {
        using var aead = new ChaCha20Poly1305(_key);
        aead.Encrypt(_nonce, _plain, _cipher, _tag);
    }

    /// <summary>A batch of 64 packets on the reused instance, the counter in the nonce moving as the transport's does.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void ReusedInstanceBatch64()
    {
        for (int i = 0; i < Batch; i++)
        {
            _nonce[4] = (byte)i;
            _keyed.Encrypt(_nonce, _plain, _cipher, _tag);
        }
    }

    [Benchmark]
    public bool ReusedSealAndOpen()
    {
        _keyed.Encrypt(_nonce, _plain, _cipher, _tag);
        Span<byte> back = stackalloc byte[1400];
        _keyed.Decrypt(_nonce, _cipher, _tag, back[..Size]);
        return back[0] == _plain[0];
    }
}
