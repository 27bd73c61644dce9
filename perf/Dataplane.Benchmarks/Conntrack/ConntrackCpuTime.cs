using System.Globalization;
using Dataplane.Benchmarks.Overlay;

namespace Dataplane.Benchmarks.Conntrack;

/// <summary>
/// `ct-cpu [rounds] [backing …]`: the <see cref="ConntrackBenchmarks"/> operations at 10 k and 1 M flows, for each
/// backing (memory, shared-file), measured interleaved in this thread's CPU time, best round kept — the ratios a
/// shared machine's neighbours do not distort (<see cref="OverlayCpuTime"/>). Prints ns per operation and, with both
/// backings, shared-file / memory.
/// </summary>
internal static class ConntrackCpuTime
{
    private const int InvokesPerSample = 16;

    private static readonly (string Name, Func<ConntrackBenchmarks, object> Op)[] Ops =
    [
        ("LookupHit", b => b.LookupHit()), ("LookupReply", b => b.LookupReply()), ("LookupMiss", b => b.LookupMiss()),
        ("InsertRemove", b => { b.InsertRemove(); return 0; }),
    ];

    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        string[] backings = args.Length > 1 ? args[1..] : ["memory", "shared-file"];
        var cases = new List<(int Flows, string Backing, ConntrackBenchmarks Bench)>();
        foreach (int flows in new[] { 10_000, 1_000_000 })
            foreach (var backing in backings)
            {
                var b = new ConntrackBenchmarks { Flows = flows, Backing = backing };
                b.Setup();
                cases.Add((flows, backing, b));
            }
        var best = new double[cases.Count, Ops.Length];
        for (int i = 0; i < cases.Count; i++) for (int o = 0; o < Ops.Length; o++) best[i, o] = double.MaxValue;
        for (int r = -2; r < rounds; r++)           // two warm-up rounds
            for (int i = 0; i < cases.Count; i++)
                for (int o = 0; o < Ops.Length; o++)
                {
                    double ns = Sample(cases[i].Bench, Ops[o].Op);
                    if (r >= 0) best[i, o] = Math.Min(best[i, o], ns);
                }
        Console.WriteLine($"best of {rounds} interleaved rounds, thread CPU time, ns per operation");
        Console.WriteLine("| flows | backing | " + string.Join(" | ", Ops.Select(o => o.Name)) + " |");
        Console.WriteLine("|---|---|" + string.Concat(Ops.Select(_ => "---:|")));
        for (int i = 0; i < cases.Count; i++)
        {
            var row = Enumerable.Range(0, Ops.Length).Select(o =>
            {
                int memory = cases.FindIndex(c => c.Flows == cases[i].Flows && c.Backing == "memory");
                string ratio = memory >= 0 && memory != i ? string.Create(CultureInfo.InvariantCulture, $" ({best[i, o] / best[memory, o]:F2}×)") : "";
                return string.Create(CultureInfo.InvariantCulture, $"{best[i, o]:F1}{ratio}");
            });
            Console.WriteLine($"| {cases[i].Flows} | {cases[i].Backing} | " + string.Join(" | ", row) + " |");
        }
        foreach (var c in cases) c.Bench.Cleanup();
        return 0;
    }

    private static double Sample(ConntrackBenchmarks b, Func<ConntrackBenchmarks, object> op)
    {
        long t0 = OverlayCpuTime.ThreadCpuNanos();
        for (int k = 0; k < InvokesPerSample; k++) op(b);
        return (double)(OverlayCpuTime.ThreadCpuNanos() - t0) / (InvokesPerSample * 4096);
    }
}
