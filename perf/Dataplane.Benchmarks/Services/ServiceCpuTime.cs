using System.Globalization;
using Dataplane.Benchmarks.Overlay;
using Dataplane.Benchmarks.Routing;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;

namespace Dataplane.Benchmarks.Services;

/// <summary>
/// `service-cpu [rounds] [flows …]`: the <see cref="ServicePipelineBenchmarks"/> cases — plain forwarding and the
/// service pipeline (conntrack hit + Maglev-chosen DNAT) at 256 and 1 M flows — measured interleaved in this thread's
/// CPU time, each case's best round kept (OverlayCpuTime's method: on a shared machine the neighbours' load stays
/// out of the ratios). Then, for every case, where the time goes: the same stage sequence as
/// <see cref="PacketPipeline.Process"/> with the time-stamp counter read around each stage, in cycles per packet.
/// The breakdown is for finding the expensive stage; the totals come from the untimed pipeline.
/// </summary>
internal static class ServiceCpuTime
{
    private const int PacketsPerSample = 256 * 256;

    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 9;
        int[] flows = args.Length > 1 ? [.. args[1..].Select(a => int.Parse(a, CultureInfo.InvariantCulture))] : [256, 1_000_000];
        var cases = new List<(string Name, ServiceBenchNode Node)>();
        foreach (int f in flows)
        {
            cases.Add(($"plain {f}", new ServiceBenchNode(full: false, f)));
            cases.Add(($"service {f}", new ServiceBenchNode(full: true, f)));
        }
        var best = OverlayCpuTime.BestOfInterleaved([.. cases.Select(c => (Func<double>)(() => Sample(c.Node)))], rounds);
        double hz = Tsc.MeasureHz(TimeSpan.FromMilliseconds(200));
        Console.WriteLine($"best of {rounds} interleaved rounds, {PacketsPerSample} packets each, thread CPU time; load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| case | ns/packet | Mpps/core | vs plain, same flows |");
        Console.WriteLine("|---|---:|---:|---:|");
        for (int i = 0; i < cases.Count; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {cases[i].Name} | {best[i]:F1} | {1000 / best[i]:F2} | {best[i] / best[i & ~1]:F2}× |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cycles per packet by stage (TSC {hz / 1e9:F2} GHz, median batch, best of {rounds} rounds per stage):"));
        var stageBest = cases.Select(_ => Enumerable.Repeat(double.MaxValue, Stages.Length + 1).ToArray()).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < cases.Count; i++)
            {
                var s = StageSample(cases[i].Node);
                for (int k = 0; k < s.Length; k++) stageBest[i][k] = Math.Min(stageBest[i][k], s[k]);
            }
        Console.WriteLine("| stage | " + string.Join(" | ", cases.Select(c => c.Name)) + " |");
        Console.WriteLine("|---|" + string.Concat(cases.Select(_ => "---:|")));
        for (int k = 0; k <= Stages.Length; k++)
            Console.WriteLine($"| {(k < Stages.Length ? Stages[k] : "receive (bench frames)")} | "
                + string.Join(" | ", stageBest.Select(b => b[k].ToString("F1", CultureInfo.InvariantCulture))) + " |");
        Console.WriteLine();
        Console.WriteLine($"conntrack lookups alone, ns per packet (thread CPU time, best of {rounds}):");
        Console.WriteLine("| case | one at a time, no prefetch | prefetch passes | passes + NAT read | dependent entry loads (one miss each) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var c in cases)
            if (c.Node.Context.Conntrack is not null) ConntrackLookupBreakdown.Print(c.Name, c.Node, rounds);
        foreach (var c in cases) c.Node.Dispose();
        return 0;
    }

    private static double Sample(ServiceBenchNode node)
    {
        long t0 = OverlayCpuTime.ThreadCpuNanos();
        for (int p = 0; p < PacketsPerSample / 256; p++)
        {
            node.Receive();
            node.Pipeline.Process(node.Batch, node.Context);
        }
        long t1 = OverlayCpuTime.ThreadCpuNanos();
        return (double)(t1 - t0) / PacketsPerSample;
    }

    private static readonly string[] Stages =
    [
        "parse + decap + neighbour + endpoint", "conntrack", "service", "identity", "egress gw + route + masquerade",
        "policy", "conntrack commit", "encap + resolve + account + collect",
    ];

    /// <summary>
    /// One sample of <see cref="PacketPipeline.Process"/>'s stage sequence: per stage group, the median over the sample's
    /// batches of its TSC cycles per packet. The TSC counts wall time, so a batch during which the thread was
    /// preempted reads long; the median leaves those batches out where a sum would charge them to the longest stage.
    /// </summary>
    private static double[] StageSample(ServiceBenchNode node)
    {
        const int Batches = PacketsPerSample / 256;
        var perBatch = new ulong[Stages.Length + 1, Batches];
        var t = new ulong[Stages.Length + 1];
        Batch batch = node.Batch;
        WorkerContext context = node.Context;
        DatapathSnapshot snapshot = node.Pipeline.Snapshots.Current;
        for (int pass = 0; pass < Batches; pass++)
        {
            Array.Clear(t);
            ulong a = Tsc.Read();
            node.Receive();
            ulong b = Tsc.Read();
            t[Stages.Length] += b - a;
            context.NowSeconds = PacketPipeline.ClockSeconds(batch);
            PacketPipeline.Run<ParseStage>(batch, snapshot, context);
            PacketPipeline.Run<OverlayDecapStage>(batch, snapshot, context);
            PacketPipeline.Run<NeighborStage>(batch, snapshot, context);
            PacketPipeline.Run<EndpointStage>(batch, snapshot, context);
            a = Tsc.Read(); t[0] += a - b;
            int total = batch.Count;
            for (int start = 0; start < total;)
            {
                batch.View(start, total - start);
                a = Tsc.Read();
                PacketPipeline.Run<ConntrackStage>(batch, snapshot, context);
                int window = batch.Count;
                b = Tsc.Read(); t[1] += b - a;
                PacketPipeline.Run<ServiceStage>(batch, snapshot, context);
                a = Tsc.Read(); t[2] += a - b;
                PacketPipeline.Run<IdentityStage>(batch, snapshot, context);
                b = Tsc.Read(); t[3] += b - a;
                PacketPipeline.Run<EgressGatewayStage>(batch, snapshot, context);
                PacketPipeline.Run<RouteStage>(batch, snapshot, context);
                PacketPipeline.Run<MasqueradeStage>(batch, snapshot, context);
                a = Tsc.Read(); t[4] += a - b;
                PacketPipeline.Run<PolicyStage>(batch, snapshot, context);
                b = Tsc.Read(); t[5] += b - a;
                PacketPipeline.Run<ConntrackCommitStage>(batch, snapshot, context);
                a = Tsc.Read(); t[6] += a - b;
                PacketPipeline.Run<OverlayEncapStage>(batch, snapshot, context);
                b = Tsc.Read(); t[7] += b - a;
                start += window;
            }
            batch.View(0, total);
            a = Tsc.Read();
            PacketPipeline.Run<NeighborResolveStage>(batch, snapshot, context);
            PacketPipeline.Account(batch, context);
            context.Conntrack?.Collect(context.NowSeconds, context.CollectBudget);
            b = Tsc.Read(); t[7] += b - a;
            for (int k = 0; k < t.Length; k++) perBatch[k, pass] = t[k];
        }
        var median = new double[t.Length];
        var column = new ulong[Batches];
        for (int k = 0; k < t.Length; k++)
        {
            for (int pass = 0; pass < Batches; pass++) column[pass] = perBatch[k, pass];
            Array.Sort(column);
            median[k] = column[Batches / 2] / 256.0;
        }
        return median;
    }
}
