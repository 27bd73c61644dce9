using System.Diagnostics;
using Dataplane.Core.Flows;
using Dataplane.Core.Pipeline;
using Hubble = Dataplane.Host.Hubble;

namespace Dataplane.Benchmarks.Pipeline;

/// <summary>
/// `hubble-stream [flows] [rounds]`: flows per second the Observer API delivers to one gRPC client. The pipeline
/// forwards the bench node's frames with every flow recorded; the flows are built as the exporter builds them into a
/// Hubble ring of <c>flows</c> (default 65536); then a client over the unix socket asks GetFlows for all of them
/// (number = flows), each round timed from the call to the last message received. Prints each round and the median.
/// </summary>
public static class HubbleStreamRate
{
    public static int Run(string[] args)
    {
        int flows = args.Length > 0 ? int.Parse(args[0]) : 65536;
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 5;
        var ring = new FlowRing(1024);
        using var node = new BenchNode(32, ipv6Share: 0.5, dropShare: 0.1, context: new WorkerContext(0, ring));
        var records = new Hubble.FlowRecords("bench");
        var history = new Hubble.FlowHistory(flows);
        while (history.Next < flows)
        {
            node.Receive();
            node.Pipeline.Process(node.Batch, node.Context);
            while (ring.TryRead(out var ev)) history.Add(records.Response(ev, node.Snapshot));
        }
        history.Published();
        var verdicts = Enumerable.Range(0, flows).Select(i => history.At(i)!.Flow).GroupBy(f => $"{f.Verdict} {f.DropReasonDesc}").Select(g => $"{g.Key}: {g.Count()}");
        Console.WriteLine($"{flows} flows built: {string.Join(", ", verdicts)}");
        string socket = Path.Combine(Path.GetTempPath(), $"dp-bench-hubble-{Environment.ProcessId}.sock");
        var view = new Hubble.NodeView(() => "bench/bench", "bench", "unix://" + socket, () => []);
        using var server = Hubble.HubbleServer.Start(new Hubble.ObserverService(history, view), socket, "");
        using var channel = Hubble.HubbleChannel.Open("unix://" + socket);
        var client = new global::Observer.Observer.ObserverClient(channel);
        var rates = new List<double>();
        for (int r = 0; r <= rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            int got = 0;
            using (var call = client.GetFlows(new global::Observer.GetFlowsRequest { Number = (ulong)flows }))
            {
                while (call.ResponseStream.MoveNext(CancellationToken.None).GetAwaiter().GetResult()) got++;
            }
            sw.Stop();
            if (got != flows) throw new InvalidOperationException($"asked for {flows} flows, got {got}");
            double rate = got / sw.Elapsed.TotalSeconds;
            // Round 0 warms up the connection and the JIT; it is printed, not counted.
            Console.WriteLine($"round {r}{(r == 0 ? " (warm-up)" : "")}: {got} flows in {sw.Elapsed.TotalMilliseconds:F0} ms = {rate:F0} flows/s");
            if (r > 0) rates.Add(rate);
        }
        rates.Sort();
        Console.WriteLine($"median: {rates[rates.Count / 2]:F0} flows/s to one client over the unix socket ({Environment.ProcessorCount} CPUs)");
        return 0;
    }
}
