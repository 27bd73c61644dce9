using BenchmarkDotNet.Attributes;

namespace Dataplane.Benchmarks.Services;

/// <summary>
/// The whole pipeline on one core, batch 256, with services: ipcache + policy + conntrack hit + DNAT to the
/// connection's Maglev-chosen backend (<see cref="ServiceEstablished"/>), beside plain forwarding of the same
/// frames to a pod (<see cref="PlainForwarding"/>, the baseline), with 256 hot flows and with 1 M flows in
/// random order. Each operation is one packet (OperationsPerInvoke over 16 384), so Mpps = 1000 / ns per op.
/// </summary>
[MemoryDiagnoser]
public class ServicePipelineBenchmarks
{
    private const int PacketsPerInvoke = 16384;
    private ServiceBenchNode _plain = null!, _full = null!;

    [Params(256, 1_000_000)]
    public int Flows;

    [GlobalSetup]
    public void Setup()
    {
        _plain = new ServiceBenchNode(full: false, Flows);
        _full = new ServiceBenchNode(full: true, Flows);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plain.Dispose();
        _full.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = PacketsPerInvoke)]
    public void PlainForwarding() => Run(_plain);

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void ServiceEstablished() => Run(_full);

    private static void Run(ServiceBenchNode node)
    {
        for (int i = 0; i < PacketsPerInvoke / 256; i++)
        {
            node.Receive();
            node.Pipeline.Process(node.Batch, node.Context);
        }
    }
}
