using System.Runtime.CompilerServices;
using Dataplane.Core.Routing;

namespace Dataplane.Benchmarks.Routing;

/// <summary>
/// <c>lpm-cycles</c> mode: DPDK's <c>lpm_perf_autotest</c> workload on our <see cref="Lpm4"/>, reported in TSC
/// cycles per lookup so the numbers sit next to rte_lpm's. Mirrors the test: the same ~1.08 M rule set
/// (<see cref="DpdkRouteTable"/>) added to a table with 2048 tbl8 groups (rules that find no free group are
/// skipped, as rte_lpm_add fails them), then 1024 iterations of 4096 fresh uniformly random addresses,
/// each batch timed with the TSC around the lookup loop only; single lookups, bulk lookups of 32, and
/// lookups of 4. Usage: <c>lpm-cycles [--seed N]</c>.
/// </summary>
internal static class LpmCycles
{
    private const int Iterations = 1 << 10;
    private const int BatchSize = 1 << 12;
    private const int BulkSize = 32;
    private const int Tbl8Groups = 2048;

    public static int Run(string[] args)
    {
        int seed = args.Length >= 2 && args[0] == "--seed" ? int.Parse(args[1]) : 1;
        var rnd = new Random(seed);
        var rules = DpdkRouteTable.Generate(rnd);
        using var lpm = new Lpm4(Tbl8Groups);

        ulong begin = Tsc.Read();
        int added = 0;
        foreach (var (prefix, depth) in rules)
            if (lpm.TryAdd(prefix, depth, 0xAA)) added++;
        ulong addCycles = Tsc.Read() - begin;

        double hz = Tsc.MeasureHz(TimeSpan.FromMilliseconds(300));
        Console.WriteLine($"No. routes = {rules.Count}");
        Console.WriteLine($"Unique added entries = {added} (rules {lpm.Count}, tbl8 groups {lpm.Tbl8GroupsInUse}/{Tbl8Groups})");
        Console.WriteLine($"Counter: {(Tsc.IsHardware ? "rdtsc" : "Stopwatch (no rdtsc stub)")}, {hz / 1e9:F3} GHz measured over 300 ms");
        Console.WriteLine($"Average LPM Add: {(double)addCycles / rules.Count:F0} cycles");

        var batch = new uint[BatchSize];
        var hops = new uint[BulkSize];
        // Warm-up: let tiered compilation settle on optimized code for every measured loop.
        for (int i = 0; i < 3; i++)
        {
            Measure(lpm, batch, hops, rnd, 64, Mode.Single);
            Measure(lpm, batch, hops, rnd, 64, Mode.Bulk);
            Measure(lpm, batch, hops, rnd, 64, Mode.X4);
            Thread.Sleep(200);
        }

        var single = Measure(lpm, batch, hops, rnd, Iterations, Mode.Single);
        var bulk = Measure(lpm, batch, hops, rnd, Iterations, Mode.Bulk);
        var x4 = Measure(lpm, batch, hops, rnd, Iterations, Mode.X4);
        Console.WriteLine($"Average LPM Lookup: {single.Cycles:F1} cycles (fails = {single.FailPct:F1}%)");
        Console.WriteLine($"BULK LPM Lookup: {bulk.Cycles:F1} cycles (fails = {bulk.FailPct:F1}%)");
        Console.WriteLine($"LPM LookupX4: {x4.Cycles:F1} cycles (fails = {x4.FailPct:F1}%)");
        Console.WriteLine($"ns per lookup: single {single.Cycles / hz * 1e9:F2}, bulk {bulk.Cycles / hz * 1e9:F2}, x4 {x4.Cycles / hz * 1e9:F2}");
        Console.WriteLine($"RESULT single={single.Cycles:F1} bulk={bulk.Cycles:F1} x4={x4.Cycles:F1} tsc_ghz={hz / 1e9:F3}");
        return 0;
    }

    private enum Mode { Single, Bulk, X4 }

    private static (double Cycles, double FailPct) Measure(Lpm4 lpm, uint[] batch, uint[] hops, Random rnd, int iterations, Mode mode)
    {
        ulong total = 0;
        long fails = 0;
        for (int i = 0; i < iterations; i++)
        {
            FillRandom(batch, rnd);
            ulong t0 = Tsc.Read();
            fails += mode switch
            {
                Mode.Single => Single(lpm, batch),
                Mode.Bulk => Bulk(lpm, batch, hops, BulkSize),
                _ => Bulk(lpm, batch, hops, 4),
            };
            total += Tsc.Read() - t0;
        }
        double n = (double)iterations * BatchSize;
        return (total / n, fails * 100.0 / n);
    }

    private static void FillRandom(uint[] batch, Random rnd)
    {
        for (int i = 0; i < batch.Length; i++) batch[i] = (uint)rnd.NextInt64();
    }

    // Fully optimized from the first call: a loop jitted at tier 0 and replaced on stack (OSR) runs
    // measurably slower, and DPDK's loop is compiled once, ahead of time.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Single(Lpm4 lpm, uint[] batch)
    {
        int fails = 0;
        foreach (uint ip in batch)
            fails += lpm.TryLookup(ip, out _) ? 0 : 1; // branch-free, as gcc compiles DPDK's count++
        return fails;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Bulk(Lpm4 lpm, uint[] batch, uint[] hops, int size)
    {
        int fails = 0;
        var outSpan = hops.AsSpan(0, size);
        for (int j = 0; j < batch.Length; j += size)
        {
            lpm.LookupBulk(batch.AsSpan(j, size), outSpan);
            foreach (uint nh in outSpan)
                fails += nh == Lpm4.NotFound ? 1 : 0;
        }
        return fails;
    }
}
