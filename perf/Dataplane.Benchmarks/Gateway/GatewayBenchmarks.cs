using BenchmarkDotNet.Attributes;

namespace Dataplane.Benchmarks.Gateway;

/// <summary>
/// The transit gateway's path on-prem → mesh on one core, batch 256, in memory: portal connections (parse, ipcache
/// identity, conntrack hit with DNAT to the Maglev-chosen backend and SNAT, VXLAN encap; the client's egress policy
/// was decided when each connection opened) beside plain L3 forwarding of the same frames (the baseline) and routing
/// them to a pod over VXLAN without a service, in the same run. Each operation is one packet (16 384 per invocation),
/// so Mpps = 1000 / ns per op.
/// </summary>
[MemoryDiagnoser]
public class GatewayBenchmarks
{
    private const int PacketsPerInvoke = 16384;
    private GatewayBenchNode _plain = null!, _overlay = null!, _portal = null!;

    [Params(256, 65_536)]
    public int Flows;

    [GlobalSetup]
    public void Setup()
    {
        _plain = new GatewayBenchNode(GatewayCase.PlainL3, Flows);
        _overlay = new GatewayBenchNode(GatewayCase.PodOverVxlan, Flows);
        _portal = new GatewayBenchNode(GatewayCase.Portal, Flows);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _plain.Dispose();
        _overlay.Dispose();
        _portal.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = PacketsPerInvoke)]
    public void PlainL3() => Run(_plain);

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void PodOverVxlan() => Run(_overlay);

    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public void PortalToVxlan() => Run(_portal);

    private static void Run(GatewayBenchNode node)
    {
        for (int i = 0; i < PacketsPerInvoke / 256; i++)
        {
            node.Receive();
            node.Pipeline.Process(node.Batch, node.Context);
        }
    }
}
