using System.Globalization;
using Dataplane.Benchmarks.Overlay;

namespace Dataplane.Benchmarks.Gateway;

/// <summary>
/// `gateway-cpu [rounds] [flows]`: the <see cref="GatewayBenchmarks"/> cases measured interleaved — every round runs
/// each case once — in this thread's CPU time, keeping each case's best round (as `overlay-cpu` does): on a shared
/// machine the ratios to plain L3 forwarding stay meaningful when BenchmarkDotNet's wall-clock runs are not.
/// </summary>
internal static class GatewayCpuTime
{
    private const int BatchSize = 256, PassesPerSample = 256;

    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 15;
        int flows = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 65_536;
        var cases = Enum.GetValues<GatewayCase>();
        var nodes = cases.Select(c => new GatewayBenchNode(c, flows, BatchSize)).ToArray();
        var best = OverlayCpuTime.BestOfInterleaved([.. nodes.Select(n => (Func<double>)(() => Sample(n)))], rounds);
        Console.WriteLine($"best of {rounds} interleaved rounds, {PassesPerSample * BatchSize} packets each, {flows} flows, thread CPU time");
        Console.WriteLine("| case | ns/packet | Mpps/core | vs plain L3 |");
        Console.WriteLine("|---|---:|---:|---:|");
        for (int i = 0; i < cases.Length; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {cases[i]} | {best[i]:F1} | {1000 / best[i]:F2} | {best[0] / best[i]:F2}× |"));
        // Which stages looked at the packets (per received packet): where the portal's extra time goes.
        for (int i = 0; i < cases.Length; i++)
        {
            var c = nodes[i].Context.Counters;
            Console.WriteLine($"{cases[i]}: " + string.Join(", ", Enum.GetValues<Core.Pipeline.StageId>()
                .Where(s => c.StagePackets[(int)s] > 0)
                .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s} {(double)c.StagePackets[(int)s] / c.RxPackets:F2}"))));
        }
        foreach (var n in nodes) n.Dispose();
        return 0;
    }

    /// <summary>CPU nanoseconds per packet for one sample of <see cref="PassesPerSample"/> batches; every packet must leave.</summary>
    private static double Sample(GatewayBenchNode node)
    {
        ulong tx = node.Context.Counters.TxPackets;
        long t0 = OverlayCpuTime.ThreadCpuNanos();
        for (int p = 0; p < PassesPerSample; p++)
        {
            node.Receive();
            node.Pipeline.Process(node.Batch, node.Context);
        }
        long t1 = OverlayCpuTime.ThreadCpuNanos();
        if (node.Context.Counters.TxPackets - tx != (ulong)(PassesPerSample * BatchSize))
            throw new InvalidOperationException("a gateway case stopped transmitting every packet");
        return (double)(t1 - t0) / (PassesPerSample * BatchSize);
    }
}
