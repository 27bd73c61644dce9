using Dataplane.Core.Counters;
using Dataplane.Core.Flows;

namespace Dataplane.Core.Pipeline;

/// <summary>Everything one worker owns and mutates: counters, its flow ring, its sequence number.</summary>
public sealed class WorkerContext(int workerId, FlowRing? flows = null)
{
    public int WorkerId { get; } = workerId;
    public WorkerCounters Counters { get; } = new();

    /// <summary>Flow events are emitted for every verdict when a ring is attached; null disables them.</summary>
    public FlowRing? Flows { get; } = flows;

    /// <summary>Sequence number of the next received packet (flow events carry it).</summary>
    public ulong NextSequence;
}
