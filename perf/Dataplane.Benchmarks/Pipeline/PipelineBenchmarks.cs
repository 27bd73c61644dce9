using BenchmarkDotNet.Attributes;
using Dataplane.Core.Pipeline;

namespace Dataplane.Benchmarks.Pipeline;

/// <summary>
/// In-memory L3 forwarding on one core: per stage and the whole graph, at batch 32 and 256. Each operation is
/// one packet (OperationsPerInvoke over a fixed 16 384 packets), so Mpps = 1000 / (ns per op). Every pass includes re-writing the 64-byte
/// frames and resetting metadata (what a receive burst costs), so the figures are per received packet.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    /// <summary>Packets per invocation, whatever the batch size: Passes × BatchSize.</summary>
    private const int PacketsPerInvoke = 16384;
    private BenchNode _node = null!;
    private int Passes => PacketsPerInvoke / BatchSize;

    [Params(32, 256)]
    public int BatchSize;

    [Params(0.0, 0.5)]
    public double Ipv6Share;

    [GlobalSetup]
    public void Setup() => _node = new BenchNode(BatchSize, Ipv6Share);

    [GlobalCleanup]
    public void Cleanup() => _node.Dispose();

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void ReceiveOnly()
    {
        for (int i = 0; i < Passes; i++) _node.Receive();
    }

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void ParseStage()
    {
        for (int i = 0; i < Passes; i++)
        {
            _node.Receive();
            Core.Pipeline.ParseStage.Process(_node.Batch, _node.Snapshot, _node.Context);
        }
    }

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void ParseAndRoute()
    {
        for (int i = 0; i < Passes; i++)
        {
            _node.Receive();
            Core.Pipeline.ParseStage.Process(_node.Batch, _node.Snapshot, _node.Context);
            RouteStage.Process(_node.Batch, _node.Snapshot, _node.Context);
        }
    }

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void WholePipeline()
    {
        for (int i = 0; i < Passes; i++)
        {
            _node.Receive();
            _node.Pipeline.Process(_node.Batch, _node.Context);
        }
    }
}
