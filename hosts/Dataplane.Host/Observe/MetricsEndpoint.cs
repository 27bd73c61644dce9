using Prometheus;

namespace Dataplane.Host.Observe;

/// <summary>
/// Serves <see cref="CiliumMetrics"/> at <c>http://ADDRESS:PORT/metrics</c> (Cilium's agent serves on :9962;
/// ours defaults to loopback so a node does not expose counters unless asked).
/// </summary>
public sealed class MetricsEndpoint : IDisposable
{
    private readonly MetricServer _server;

    public MetricsEndpoint(string address, int port, CollectorRegistry registry)
    {
        Address = address; Port = port;
        _server = new MetricServer(address, port, "metrics/", registry);
        _server.Start();
    }

    public string Address { get; }
    public int Port { get; }
    public string Url => $"http://{Address}:{Port}/metrics";

    public void Dispose() => _server.Dispose();
}
