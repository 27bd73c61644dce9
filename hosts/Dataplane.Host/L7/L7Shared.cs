using Dataplane.Core.Flows;
using Dataplane.Core.L7;

namespace Dataplane.Host.L7;

/// <summary>
/// What the workers and a host's L7 proxy share in one agent process: the redirect and upstream tables
/// (<see cref="ProxyRedirects"/>) and the ring the proxy's L7 flow records go through to the flow exporter, beside
/// the workers' rings. The proxy writes from many request threads, so its side of the ring is serialised here.
/// </summary>
public sealed class L7Shared
{
    private readonly Lock _publish = new();

    public ProxyRedirects Tables { get; } = new();

    /// <summary>The proxy's flow records (drained by the exporter like a worker's ring).</summary>
    public FlowRing Flows { get; } = new(1 << 12);

    /// <summary>Publishes one L7 flow record; a full ring counts it as lost (observability never blocks a request).</summary>
    public void Publish(in FlowEvent e)
    {
        lock (_publish)
        {
            ref FlowEvent slot = ref Flows.TryClaim(out bool ok);
            if (!ok) return;
            slot = e;
            Flows.Publish();
        }
    }
}
