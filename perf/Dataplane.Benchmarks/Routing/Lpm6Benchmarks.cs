using BenchmarkDotNet.Attributes;
using Dataplane.Core.Routing;

namespace Dataplane.Benchmarks.Routing;

/// <summary>
/// IPv6 lookups per address. Prefixes are clustered under a few thousand /32 allocations with a mix of
/// lengths shaped like a global table (mostly /48, then /32-/44, some /56-/64, a few host routes); each
/// lookup address lies inside a random prefix, so lookups walk the trie to the prefix's depth.
/// </summary>
[MemoryDiagnoser]
public class Lpm6Benchmarks
{
    private const int Lookups = 1 << 16;

    private Lpm6 _lpm = null!;
    private UInt128[] _ips = null!;
    private uint[] _nextHops = null!;

    [Params(1_000, 100_000)]
    public int Prefixes;

    [GlobalSetup]
    public void Setup()
    {
        var rnd = new Random(6);
        _lpm = new Lpm6(maxTbl8Groups: 1 << 19);
        var allocations = new ulong[Math.Max(16, Prefixes / 50)];
        for (int i = 0; i < allocations.Length; i++) allocations[i] = 0x2000_0000UL | (uint)rnd.Next(1 << 28);
        var prefixes = new List<(UInt128 Prefix, int Depth)>(Prefixes);
        while (_lpm.Count < Prefixes)
        {
            int depth = RandomDepth(rnd);
            var address = ((UInt128)allocations[rnd.Next(allocations.Length)] << 96) | Random128(rnd) >> 32;
            var prefix = Lpm6.Mask(address, depth);
            _lpm.Add(prefix, depth, (uint)rnd.Next(1 << 24));
            prefixes.Add((prefix, depth));
        }
        _ips = new UInt128[Lookups];
        for (int i = 0; i < Lookups; i++)
        {
            var (p, d) = prefixes[rnd.Next(prefixes.Count)];
            _ips[i] = p | (d == 128 ? 0 : Random128(rnd) & (UInt128.MaxValue >> d));
        }
        _nextHops = new uint[Lookups];
    }

    private static UInt128 Random128(Random rnd) => new((ulong)rnd.NextInt64(), (ulong)rnd.NextInt64());

    private static int RandomDepth(Random rnd) => rnd.Next(100) switch
    {
        < 10 => 32,
        < 30 => rnd.Next(33, 48),
        < 80 => 48,
        < 95 => rnd.Next(49, 65),
        _ => rnd.Next(65, 129),
    };

    [GlobalCleanup]
    public void Cleanup() => _lpm.Dispose();

    [Benchmark(OperationsPerInvoke = Lookups)]
    public uint Single()
    {
        var lpm = _lpm;
        uint sum = 0;
        foreach (UInt128 ip in _ips)
            if (lpm.TryLookup(ip, out uint nh)) sum += nh;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public void Bulk() => _lpm.LookupBulk(_ips, _nextHops);
}
