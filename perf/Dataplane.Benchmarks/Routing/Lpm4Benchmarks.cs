using BenchmarkDotNet.Attributes;
using Dataplane.Core.Routing;

namespace Dataplane.Benchmarks.Routing;

/// <summary>
/// IPv4 lookups per address: random prefixes with DPDK's real-router depth mix, looked up with uniformly
/// random addresses (so nearly every lookup misses the CPU caches, as in rte_lpm's perf test).
/// </summary>
[MemoryDiagnoser]
public class Lpm4Benchmarks
{
    private const int Lookups = 1 << 16;

    private Lpm4 _lpm = null!;
    private uint[] _ips = null!;
    private uint[] _nextHops = null!;

    [Params(1_000, 800_000)]
    public int Prefixes;

    [GlobalSetup]
    public void Setup()
    {
        var rnd = new Random(4);
        _lpm = new Lpm4(maxTbl8Groups: 1 << 16);
        while (_lpm.Count < Prefixes)
            _lpm.Add((uint)rnd.NextInt64(), DpdkRouteTable.RandomDepth(rnd), (uint)rnd.Next(1 << 24));
        _ips = new uint[Lookups];
        for (int i = 0; i < Lookups; i++) _ips[i] = (uint)rnd.NextInt64();
        _nextHops = new uint[Lookups];
    }

    [GlobalCleanup]
    public void Cleanup() => _lpm.Dispose();

    [Benchmark(OperationsPerInvoke = Lookups)]
    public uint Single()
    {
        var lpm = _lpm;
        uint sum = 0;
        foreach (uint ip in _ips)
            if (lpm.TryLookup(ip, out uint nh)) sum += nh;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public void Bulk() => _lpm.LookupBulk(_ips, _nextHops);
}
