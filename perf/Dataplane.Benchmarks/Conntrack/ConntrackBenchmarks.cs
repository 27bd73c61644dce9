using BenchmarkDotNet.Attributes;
using Dataplane.Core.Conntrack;

namespace Dataplane.Benchmarks.Conntrack;

/// <summary>
/// Conntrack lookups (hit, forward and reply; miss) and insert+remove, at 10 k and 1 M flows, in random
/// order. One operation = one packet's table access; Mpps = 1000 / ns. <see cref="Backing"/> compares entries in
/// process memory with entries in a shared file on /dev/shm or $DP_BENCH_CT_DIR (what the agent uses to survive a restart): the same
/// code over different pages.
/// </summary>
[MemoryDiagnoser]
public class ConntrackBenchmarks
{
    private const int Ops = 4096;
    private ConntrackTable _ct = null!;
    private CtKey[] _hits = null!, _replies = null!, _misses = null!;

    [Params(10_000, 1_000_000)]
    public int Flows;

    [Params("memory", "shared-file")]
    public string Backing = "memory";

    private string? _file;

    [GlobalSetup]
    public void Setup()
    {
        if (Backing == "memory") _ct = new ConntrackTable(Flows + Ops);
        else
        {
            _file = Path.Combine(Environment.GetEnvironmentVariable("DP_BENCH_CT_DIR") ?? "/dev/shm", $"dp-bench-ct-{Environment.ProcessId}-{Flows}.ct");
            _ct = new ConntrackTable(ConntrackFile.Open(_file, Flows + Ops), 0);
        }
        var rng = new Random(3);
        var all = new CtKey[Flows];
        for (int i = 0; i < Flows; i++)
        {
            all[i] = new CtKey((uint)rng.Next() | 0xC6120000u, 0xC6130001, (ushort)rng.Next(1024, 65535), 443, 6, 4);
            _ct.TryInsert(all[i], uint.MaxValue, out _);
        }
        _hits = new CtKey[Ops]; _replies = new CtKey[Ops]; _misses = new CtKey[Ops];
        for (int i = 0; i < Ops; i++)
        {
            _hits[i] = all[rng.Next(Flows)];
            _replies[i] = all[rng.Next(Flows)].Reverse();
            _misses[i] = new CtKey((uint)rng.Next(), 0xC6140001, (ushort)rng.Next(), 80, 17, 4);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ct.Dispose();
        if (_file is not null) File.Delete(_file);
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int LookupHit()
    {
        int found = 0;
        foreach (ref readonly var k in _hits.AsSpan()) if (_ct.TryLookup(k, out _, out _)) found++;
        return found;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int LookupReply()
    {
        int found = 0;
        foreach (ref readonly var k in _replies.AsSpan()) if (_ct.TryLookup(k, out _, out _)) found++;
        return found;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int LookupMiss()
    {
        int found = 0;
        foreach (ref readonly var k in _misses.AsSpan()) if (_ct.TryLookup(k, out _, out _)) found++;
        return found;
    }

    /// <summary>Insert then remove the same new flows: the table returns to its starting state.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public void InsertRemove()
    {
        Span<uint> entries = stackalloc uint[Ops];
        for (int i = 0; i < Ops; i++) _ct.TryInsert(_misses[i], uint.MaxValue, out entries[i]);
        for (int i = 0; i < Ops; i++) _ct.Remove(entries[i]);
    }
}
