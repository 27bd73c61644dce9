using Dataplane.Core.Counters;
using Dataplane.Core.Flows;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Api;

namespace Dataplane.Host.Backends;

/// <summary>
/// The one seam between a host's agent and the way packets move: af_packet, af_xdp and dpdk (C# worker lanes
/// over their ports, <see cref="Lanes.LaneBackend"/>) or ebpf (the kernel program, <see cref="Ebpf.EbpfBackend"/>).
/// A backend owns its ports, applies each compiled snapshot its own way and reports its own counters and status;
/// the agent only calls these members, in this order over a run: created for the first snapshot by
/// <see cref="BackendCatalog.Create"/>, <see cref="Start"/>, then per change <see cref="Prepare"/> → swap →
/// <see cref="Adopt"/>, once a second <see cref="Poll"/>, and at the end <see cref="Stop"/>, <see cref="PrintExit"/>,
/// <see cref="IDisposable.Dispose"/>.
/// Calls that touch ports come from the control thread under the agent's apply lock; counters and conntrack
/// figures may be read from any thread (they may be a poll stale).
/// </summary>
public interface IPacketBackend : IDisposable
{
    /// <summary>The name users pass to --backend and see in the status ("af_packet", "af_xdp", "dpdk", "ebpf").</summary>
    string Name { get; }

    /// <summary>How it runs now, for the status (e.g. "af_xdp, xdp-mode auto").</summary>
    string Mode { get; }

    /// <summary>Worker threads forwarding (0 when the kernel forwards).</summary>
    int Workers { get; }

    /// <summary>The rings flow events arrive in, for the flow exporter (empty without --flows-file).</summary>
    IReadOnlyList<FlowRing> FlowRings { get; }

    /// <summary>
    /// Takes <paramref name="next"/> before the agent swaps it in. Throws <see cref="Dataplane.Control.Config.ConfigException"/>
    /// when this backend cannot run it; then nothing of the change is applied anywhere.
    /// </summary>
    void Prepare(DatapathSnapshot next);

    /// <summary>Brings the ports in line with <paramref name="snapshot"/>, now in force (opens, hands over, closes).</summary>
    void Adopt(DatapathSnapshot snapshot);

    /// <summary>
    /// Once a second and after every change of the files: interfaces of <paramref name="current"/> that appeared,
    /// vanished or were recreated are attached or let go. Throws <see cref="Dataplane.Control.Config.ConfigException"/>
    /// when the snapshot cannot be re-applied for them (retried next time).
    /// </summary>
    void Poll(DatapathSnapshot current);

    /// <summary>Attaches to <paramref name="first"/>'s ports and starts forwarding; <paramref name="stop"/> is cancelled when a worker fails.</summary>
    void Start(DatapathSnapshot first, CancellationTokenSource stop);

    /// <summary>The start-up line's "N port(s), backend X, …" part.</summary>
    string DescribeForwarding();

    /// <summary>After the stop was requested: waits for the workers; false if one did not stop (its ports stay open).</summary>
    bool Stop();

    /// <summary>Why a worker stopped on its own (null: none failed).</summary>
    Exception? Failure { get; }

    /// <summary>Adds this backend's counters to <paramref name="c"/> and returns packets routed to a port it has no socket for.</summary>
    ulong AddCounters(WorkerCounters c);

    /// <summary>Connections tracked and room for them.</summary>
    (long Entries, long Capacity) Conntrack { get; }

    /// <summary>Each port of <paramref name="snapshot"/> as this backend serves it. Caller holds the apply lock.</summary>
    List<PortStatus> PortStatus(DatapathSnapshot snapshot);

    /// <summary>The backend's own lines under the totals `run` prints (per port, or the program's figures).</summary>
    void PrintCounters(TextWriter log, string what);

    /// <summary>After the exit counters: what only this backend knows (the drivers' own counters).</summary>
    void PrintExit(TextWriter log);

    /// <summary>
    /// What the host firewall enforces with this backend under <paramref name="snapshot"/>: null when no host policy
    /// selects this node, else one line for the status and the log — including, for a backend that cannot enforce
    /// host policies on the node's own traffic, that it does not (never a silent gap).
    /// </summary>
    string? HostFirewall(DatapathSnapshot snapshot);

    /// <summary>
    /// Our own neighbour resolution (the C# lanes): its table (learned and static entries) for the status, its liveness
    /// watch for the gateway. Null for the eBPF backend, where the kernel resolves.
    /// </summary>
    Dataplane.Core.Neighbors.NeighborResolver? Resolver => null;
}
