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

    private const int Capacity = 1 << 12;
    private readonly (ulong Sequence, L7Flow? Flow)[] _records = new (ulong, L7Flow?)[Capacity];
    private ulong _sequence;

    /// <summary>The proxy's flow events (drained by the exporter like a worker's ring); their L7 parts are in <see cref="Record"/>.</summary>
    public FlowRing Flows { get; } = new(Capacity);

    /// <summary>Publishes one L7 flow event; a full ring counts it as lost (observability never blocks a request).</summary>
    public void Publish(FlowEvent e, L7Flow flow)
    {
        lock (_publish)
        {
            ref FlowEvent slot = ref Flows.TryClaim(out bool ok);
            if (!ok) return;
            ulong seq = ++_sequence;
            int index = (int)(seq & (Capacity - 1));
            _records[index] = (seq, flow);
            e.Sequence = seq;
            e.L7Record = (uint)index + 1;
            slot = e;
            Flows.Publish();
        }
    }

    /// <summary>The L7 part of event <paramref name="e"/> (null: a packet event, or a record already overwritten).</summary>
    public L7Flow? Record(in FlowEvent e)
    {
        if (e.L7Record == 0 || e.L7Record > Capacity) return null;
        lock (_publish)
        {
            var (seq, flow) = _records[e.L7Record - 1];
            return seq == e.Sequence ? flow : null;
        }
    }
}
