using BenchmarkDotNet.Attributes;
using Dataplane.Core.Checksums;

namespace Dataplane.Benchmarks.Checksums;

/// <summary>RFC 1624 updates as NAT and forwarding use them, against recomputing the IPv4 header checksum.</summary>
[MemoryDiagnoser]
public class IncrementalChecksumBenchmarks
{
    private readonly byte[] _header = Convert.FromHexString("450000730000400040 11b861c0a80001c0a800c7".Replace(" ", ""));
    private readonly byte[] _oldV6 = Convert.FromHexString("20010db8000000000000000000000001");
    private readonly byte[] _newV6 = Convert.FromHexString("20010db8000000000000000000000002");
    // Fields rather than constants so the JIT cannot fold the arithmetic away.
    private ushort _checksum = 0xB861;
    private ushort _oldWord = 0x4011, _newWord = 0x3F11;
    private uint _oldAddr = 0xC0A80001, _newAddr = 0x0A000001;

    [Benchmark(Baseline = true)]
    public ushort Ipv4HeaderRecompute() => InetChecksum.Ipv4Header(_header);

    [Benchmark]
    public ushort Update16() => InetChecksum.Update16(_checksum, _oldWord, _newWord);

    [Benchmark]
    public ushort Update32() => InetChecksum.Update32(_checksum, _oldAddr, _newAddr);

    [Benchmark]
    public ushort Update128() => InetChecksum.Update128(_checksum, _oldV6, _newV6);

    [Benchmark]
    public void DecrementTtl()
    {
        InetChecksum.DecrementTtl(_header);
        _header[8] = 64;                       // keep the TTL from wrapping across iterations
    }
}
