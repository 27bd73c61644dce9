using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Dataplane.Core.Routing;

namespace Dataplane.Benchmarks.Routing;

/// <summary>
/// <c>lpm-cycles</c> mode: DPDK's <c>lpm_perf_autotest</c> workload on our <see cref="Lpm4"/>, reported in TSC
/// cycles per lookup so the numbers sit next to rte_lpm's. Mirrors the test: the same ~1.08 M rule set
/// (<see cref="DpdkRouteTable"/>) added to a table with 2048 tbl8 groups (rules that find no free group are
/// skipped, as rte_lpm_add fails them), then 1024 iterations of 4096 fresh uniformly random addresses,
/// each batch timed with the TSC around the lookup loop only; single lookups, bulk lookups of 32, and
/// four at a time (<see cref="Lpm4.LookupX4"/>, the peer of rte_lpm_lookupx4); then every rule deleted in the
/// order it was added. Adds and deletes are reported per rule, as the test reports rte_lpm_add and rte_lpm_delete.
/// Cycles come from rdtsc itself (see <see cref="Tsc"/>), the counter DPDK reads; the TSC rate is measured
/// against the monotonic clock only to print nanoseconds beside them.
/// Usage: <c>lpm-cycles [--seed N] [--no-thp]</c>; <c>--no-thp</c> keeps tbl24 on 4 KiB pages as
/// <c>dpdk-test --no-huge</c> does (by default we ask for transparent huge pages, see TableMemory).
/// </summary>
internal static class LpmCycles
{
    private const int Iterations = 1 << 10;
    private const int BatchSize = 1 << 12;
    private const int BulkSize = 32;
    private const int Tbl8Groups = 2048;

    public static int Run(string[] args)
    {
        int seed = 1;
        for (int a = 0; a < args.Length; a++)
        {
            if (args[a] == "--seed") seed = int.Parse(args[++a]);
            else if (args[a] == "--no-thp") TableMemory.UseHugePages = false; // 4 KiB pages, like dpdk-test --no-huge
            else throw new ArgumentException($"unknown option {args[a]}; usage: lpm-cycles [--seed N] [--no-thp]");
        }
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
        Console.WriteLine($"tbl24 pages: {(TableMemory.UseHugePages ? "2 MiB THP requested" : "4 KiB")}, process {AnonHugePages()}");

        var batch = new uint[BatchSize];
        var hops = new uint[BulkSize];
        // Warm-up: every measured loop is jitted fully optimized, but let the runtime's background work
        // (tiering of the surrounding code) settle before timing, as DPDK's test runs warm code.
        for (int i = 0; i < 5; i++)
        {
            Measure(lpm, batch, hops, rnd, 64, Mode.Single);
            Measure(lpm, batch, hops, rnd, 64, Mode.Bulk);
            Measure(lpm, batch, hops, rnd, 64, Mode.X4);
            Thread.Sleep(250);
        }

        var single = Measure(lpm, batch, hops, rnd, Iterations, Mode.Single);
        var bulk = Measure(lpm, batch, hops, rnd, Iterations, Mode.Bulk);
        var x4 = Measure(lpm, batch, hops, rnd, Iterations, Mode.X4);
        Console.WriteLine($"Average LPM Lookup: {single.Cycles:F1} cycles (fails = {single.FailPct:F1}%)");
        Console.WriteLine($"BULK LPM Lookup: {bulk.Cycles:F1} cycles (fails = {bulk.FailPct:F1}%)");
        Console.WriteLine($"LPM LookupX4: {x4.Cycles:F1} cycles (fails = {x4.FailPct:F1}%)");
        Console.WriteLine($"ns per lookup: single {single.Cycles / hz * 1e9:F2}, bulk {bulk.Cycles / hz * 1e9:F2}, x4 {x4.Cycles / hz * 1e9:F2}");

        // Then every rule deleted in the order it was added, as lpm_perf_autotest does after its lookups (rules that
        // did not fit count as deletes too: rte_lpm_delete is called, and fails, for them).
        begin = Tsc.Read();
        foreach (var (prefix, depth) in rules) lpm.Remove(prefix, depth);
        ulong deleteCycles = Tsc.Read() - begin;
        if (lpm.Count != 0) throw new InvalidOperationException($"{lpm.Count} rules left after deleting them all");
        Console.WriteLine($"Average LPM Delete: {(double)deleteCycles / rules.Count:F0} cycles");
        Console.WriteLine($"RESULT single={single.Cycles:F1} bulk={bulk.Cycles:F1} x4={x4.Cycles:F1} add={(double)addCycles / rules.Count:F0} delete={(double)deleteCycles / rules.Count:F0} tsc_ghz={hz / 1e9:F3}");
        return 0;
    }

    private enum Mode { Single, Bulk, X4 }

    private static string AnonHugePages()
    {
        const string path = "/proc/self/smaps_rollup";
        if (!File.Exists(path)) return "AnonHugePages: n/a";
        foreach (string line in File.ReadLines(path))
            if (line.StartsWith("AnonHugePages:", StringComparison.Ordinal)) return string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        return "AnonHugePages: n/a";
    }

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
                _ => X4(lpm, batch),
            };
            total += Tsc.Read() - t0;
        }
        double n = (double)iterations * BatchSize;
        return (total / n, fails * 100.0 / n);
    }

    /// <summary>The miss count of DPDK's bulk loop, which gcc -O3 vectorizes; written with SIMD here so the
    /// harness around the lookups costs about the same on both sides.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CountNotFound(ReadOnlySpan<uint> hops)
    {
        int count = 0, k = 0;
        var notFound = Vector256.Create(Lpm4.NotFound);
        for (; k + 8 <= hops.Length; k += 8)
            count += BitOperations.PopCount(Vector256.Equals(Vector256.Create(hops.Slice(k, 8)), notFound).ExtractMostSignificantBits());
        for (; k < hops.Length; k++) count += hops[k] == Lpm4.NotFound ? 1 : 0;
        return count;
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
    private static unsafe int X4(Lpm4 lpm, uint[] batch)
    {
        int fails = 0;
        var notFound = Vector128.Create(Lpm4.NotFound);
        fixed (uint* ips = batch)
        {
            for (int j = 0; j < batch.Length; j += 4)
            {
                var hops = lpm.LookupX4(Vector128.Load(ips + j));
                fails += BitOperations.PopCount(Vector128.Equals(hops, notFound).ExtractMostSignificantBits());
            }
        }
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
            fails += CountNotFound(outSpan);
        }
        return fails;
    }
}
