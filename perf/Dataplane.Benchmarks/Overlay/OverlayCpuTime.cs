using System.Globalization;
using System.Runtime.InteropServices;

namespace Dataplane.Benchmarks.Overlay;

/// <summary>
/// `overlay-cpu [rounds]`: the <see cref="OverlayBenchmarks"/> cases measured interleaved — every round runs each
/// case once — in this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), keeping each case's best round. On a shared
/// machine that keeps preemption and neighbours' load out of the ratios that BenchmarkDotNet's sequential
/// wall-clock runs cannot: the figures are for comparing cases, the BenchmarkDotNet run gives absolute ones.
/// </summary>
internal static partial class OverlayCpuTime
{
    private const int BatchSize = 32, PassesPerSample = 2048;

    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        var cases = Enum.GetValues<OverlayCase>();
        var nodes = cases.Select(c => new OverlayBenchNode(c, BatchSize)).ToArray();
        var best = BestOfInterleaved([.. nodes.Select(n => (Func<double>)(() => Sample(n)))], rounds);
        Console.WriteLine($"best of {rounds} interleaved rounds, {PassesPerSample * BatchSize} packets each, thread CPU time");
        Console.WriteLine("| case | ns/packet | Mpps/core | vs L3 |");
        Console.WriteLine("|---|---:|---:|---:|");
        for (int i = 0; i < cases.Length; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {cases[i]} | {best[i]:F1} | {1000 / best[i]:F2} | {best[0] / best[i]:F2}× |"));
        foreach (var n in nodes) n.Dispose();
        return 0;
    }

    /// <summary>Each sampler's best (lowest) value over <paramref name="rounds"/> rounds that run every sampler once, after 3 warm-up rounds.</summary>
    internal static double[] BestOfInterleaved(IReadOnlyList<Func<double>> samplers, int rounds)
    {
        var best = Enumerable.Repeat(double.MaxValue, samplers.Count).ToArray();
        for (int warm = 0; warm < 3; warm++)
            foreach (var s in samplers) s();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < samplers.Count; i++)
                best[i] = Math.Min(best[i], samplers[i]());
        return best;
    }

    /// <summary>CPU nanoseconds per packet for one sample of <see cref="PassesPerSample"/> batches.</summary>
    private static double Sample(OverlayBenchNode node)
    {
        long t0 = ThreadCpuNanos();
        for (int p = 0; p < PassesPerSample; p++)
        {
            node.Receive();
            node.Pipeline.Process(node.Batch, node.Context);
        }
        long t1 = ThreadCpuNanos();
        if (node.Transmitted() != BatchSize) throw new InvalidOperationException("a case stopped transmitting");
        return (double)(t1 - t0) / (PassesPerSample * BatchSize);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec, Nsec; }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGettime(int clock, out Timespec ts);

    internal static long ThreadCpuNanos()
    {
        const int ClockThreadCputimeId = 3;
        ClockGettime(ClockThreadCputimeId, out var ts);
        return ts.Sec * 1_000_000_000 + ts.Nsec;
    }
}
