using BenchmarkDotNet.Attributes;
using Dataplane.Core.Checksums;

namespace Dataplane.Benchmarks.Checksums;

/// <summary>
/// RFC 1071 sum over typical header and packet sizes: each kernel alone, and the public entry point that
/// dispatches between them (20 = IPv4 header, 40 = IPv6 header, 64 = minimum frame, 1500 = MTU).
/// </summary>
[MemoryDiagnoser]
public unsafe class ChecksumBenchmarks
{
    private byte[] _data = [];
    private byte* _p;

    [Params(20, 40, 64, 1500)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Pinned so the kernels can take a stable pointer; offset by 2 to avoid flattering alignment.
        _data = GC.AllocateArray<byte>(Size + 2, pinned: true);
        new Random(42).NextBytes(_data);
        fixed (byte* p = _data) _p = p + 2;
    }

    [Benchmark(Baseline = true)]
    public ulong Scalar16() => SumKernels.Scalar16(_p, Size);

    [Benchmark]
    public ulong Wide64() => SumKernels.Wide(_p, Size);

    [Benchmark]
    public ulong Vector128() => SumKernels.Vector128Kernel(_p, Size);

    [Benchmark]
    public ulong Vector256() => SumKernels.Vector256Kernel(_p, Size);

    [Benchmark]
    public ushort SumAndFold() => InetChecksum.Fold(InetChecksum.Sum(new ReadOnlySpan<byte>(_p, Size)));
}
