using BenchmarkDotNet.Attributes;

namespace Dataplane.Benchmarks.Overlay;

/// <summary>
/// Overlay encap and decap on one core, in memory, through the whole pipeline (parse → overlay decap → … → overlay
/// encap), beside plain L3 forwarding of the same 64-byte pod frames (<see cref="OverlayCase.L3"/>) in the same run:
/// report the ratios. One operation is one packet (16 384 per invocation, batches of 32), so Mpps = 1000 / ns per op;
/// every pass re-writes the frames and resets the descriptors, as a receive burst would.
/// </summary>
[MemoryDiagnoser]
public class OverlayBenchmarks
{
    private const int PacketsPerInvoke = 16384, BatchSize = 32;
    private OverlayBenchNode _node = null!;

    [Params(OverlayCase.L3, OverlayCase.VxlanEncap4, OverlayCase.VxlanEncap6, OverlayCase.Srv6Encap1, OverlayCase.Srv6Encap3,
        OverlayCase.VxlanDecap4, OverlayCase.VxlanDecap6, OverlayCase.Srv6Decap1, OverlayCase.Srv6Decap3)]
    public OverlayCase Case;

    [GlobalSetup]
    public void Setup()
    {
        _node = new OverlayBenchNode(Case, BatchSize);
        // Fail loudly instead of timing a case that drops everything.
        _node.Receive();
        _node.Pipeline.Process(_node.Batch, _node.Context);
        if (_node.Transmitted() != BatchSize)
            throw new InvalidOperationException($"{Case}: only {_node.Transmitted()} of {BatchSize} packets transmitted");
    }

    [GlobalCleanup]
    public void Cleanup() => _node.Dispose();

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void Forward()
    {
        for (int i = 0; i < PacketsPerInvoke / BatchSize; i++)
        {
            _node.Receive();
            _node.Pipeline.Process(_node.Batch, _node.Context);
        }
    }
}
