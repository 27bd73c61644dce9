using Dataplane.Core.Conntrack;
using Dataplane.Core.Counters;
using Dataplane.Core.Flows;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Everything one worker owns and mutates: counters, its flow ring, its sequence number and its conntrack
/// table (state that survives snapshot swaps).
/// </summary>
public sealed class WorkerContext(int workerId, FlowRing? flows = null, ConntrackTable? conntrack = null)
{
    public int WorkerId { get; } = workerId;
    public WorkerCounters Counters { get; } = new();

    /// <summary>Flow events are emitted for every verdict when a ring is attached; null disables them.</summary>
    public FlowRing? Flows { get; } = flows;

    /// <summary>
    /// Forwarded (and host-bound) packets' events go to <see cref="Flows"/> (Cilium's trace notifications,
    /// --bpf-events-trace-enabled); off, a ring records drops only, and the worker skips the copy for every other packet.
    /// </summary>
    public bool TraceEvents { get; init; } = true;

    /// <summary>Dropped packets' events go to <see cref="Flows"/> (Cilium's --bpf-events-drop-enabled).</summary>
    public bool DropEvents { get; init; } = true;

    /// <summary>Sequence number of the next received packet (flow events carry it).</summary>
    public ulong NextSequence;

    /// <summary>
    /// Connections this worker tracks. With a table, policy is decided once per connection and replies pass;
    /// without one (null) every packet is checked against policy, statelessly.
    /// </summary>
    public ConntrackTable? Conntrack { get; } = conntrack;

    public CtTimeouts Timeouts { get; init; } = CtTimeouts.Default;

    /// <summary>Clock for conntrack expiry, in seconds, set once per batch by the pipeline.</summary>
    public uint NowSeconds;

    /// <summary>Per-batch NAT decisions, sessionAffinity state and the random source of load balancing.</summary>
    public Services.LbWorkerState Lb { get; } = new();

    /// <summary>
    /// Neighbour resolution (ARP/ND) for next hops whose MAC is found at run time; null = none: such packets are
    /// dropped with FIB_LOOKUP_FAILED (169), as the eBPF program does.
    /// </summary>
    public Neighbors.WorkerNeighbors? Neighbors { get; init; }

    /// <summary>
    /// The tables shared with the node's L7 proxy (redirected connections, the proxy's onward connections); null = no
    /// proxy: L7 rules are then enforced at L3/L4 only.
    /// </summary>
    public L7.ProxyRedirects? Proxy { get; init; }

    /// <summary>Conntrack entries examined for expiry after each batch.</summary>
    public int CollectBudget { get; init; } = 64;
}
