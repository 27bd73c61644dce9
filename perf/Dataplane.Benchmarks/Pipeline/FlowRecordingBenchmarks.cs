using BenchmarkDotNet.Attributes;
using Dataplane.Core.Flows;
using Dataplane.Core.Pipeline;
using FlowRecords = Dataplane.Host.Hubble.FlowRecords;

namespace Dataplane.Benchmarks.Pipeline;

/// <summary>
/// The cost of observability (issue 19): the whole pipeline over batches of 32 frames of which 10 % are dropped (TTL
/// 1), with flow recording off, drops only (--bpf-events-trace-enabled=false) and every packet, in one run.
/// <see cref="Datapath"/> is the worker's share: it copies each recorded packet's event into its ring, which is emptied
/// without building anything. <see cref="WithRecords"/> adds what the exporter thread does with each event: build
/// Hubble's <c>flow.Flow</c> (the protobuf message the Observer API and the flow file carry). One op = one packet.
/// </summary>
[MemoryDiagnoser]
public class FlowRecordingBenchmarks
{
    private const int BatchSize = 32, PacketsPerInvoke = 16384, Passes = PacketsPerInvoke / BatchSize;
    private BenchNode _node = null!;
    private FlowRing? _ring;
    private readonly FlowRecords _records = new("bench");

    [Params("off", "drops", "all")]
    public string Flows = "off";

    [GlobalSetup]
    public void Setup()
    {
        _ring = Flows == "off" ? null : new FlowRing(1024);
        _node = new BenchNode(BatchSize, dropShare: 0.1, context: new WorkerContext(0, _ring) { TraceEvents = Flows == "all" });
    }

    [GlobalCleanup]
    public void Cleanup() => _node.Dispose();

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void Datapath()
    {
        for (int i = 0; i < Passes; i++)
        {
            _node.Receive();
            _node.Pipeline.Process(_node.Batch, _node.Context);
            if (_ring is null) continue;
            while (_ring.TryRead(out _)) { }
        }
    }

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public int WithRecords()
    {
        int built = 0;
        for (int i = 0; i < Passes; i++)
        {
            _node.Receive();
            _node.Pipeline.Process(_node.Batch, _node.Context);
            if (_ring is null) continue;
            while (_ring.TryRead(out var ev)) built += _records.Response(ev, _node.Snapshot).Flow.Uuid.Length > 0 ? 1 : 0;
        }
        return built;
    }
}
