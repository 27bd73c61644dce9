using BenchmarkDotNet.Attributes;
using Dataplane.Core.Services;

namespace Dataplane.Benchmarks.Services;

/// <summary>Maglev ring build time; Google's paper reports 1.8 ms for M = 65537 with 100 backends.</summary>
[MemoryDiagnoser]
public class MaglevBenchmarks
{
    private List<MaglevBackend> _backends = null!;

    [Params(100, 1000)]
    public int Backends;

    [Params(16381, 65537)]
    public int M;

    [GlobalSetup]
    public void Setup() =>
        _backends = Enumerable.Range(0, Backends).Select(i => new MaglevBackend($"198.18.{i / 250}.{i % 250 + 1}:8080/TCP")).ToList();

    [Benchmark]
    public int[] Build() => Maglev.BuildRing(_backends, M);
}
