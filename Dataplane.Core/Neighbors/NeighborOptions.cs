namespace Dataplane.Core.Neighbors;

/// <summary>
/// Timers and bounds of neighbour resolution, named after the kernel's <c>net.ipv4.neigh.*</c> /
/// <c>net.ipv6.neigh.*</c> sysctls (defaults as the kernel's, except the queue: see <see cref="QueueLength"/>).
/// </summary>
public sealed record NeighborOptions
{
    /// <summary><c>unres_qlen</c>: packets held per unresolved neighbour; more are dropped (FIB_LOOKUP_FAILED, 169).
    /// Small on purpose (the kernel's is byte-based and larger): a router holds a few, an endpoint retransmits.</summary>
    public int QueueLength { get; init; } = 3;

    /// <summary><c>base_reachable_time_ms</c>: how long a confirmation keeps an entry Reachable.</summary>
    public int ReachableMillis { get; init; } = 30_000;

    /// <summary><c>retrans_time_ms</c>: between two solicitations or probes.</summary>
    public int RetransMillis { get; init; } = 1_000;

    /// <summary><c>delay_first_probe_time</c>: a Stale entry that is used waits this long for a confirmation before probing.</summary>
    public int DelayMillis { get; init; } = 5_000;

    /// <summary><c>mcast_solicit</c>: broadcast ARP / multicast NS before an Incomplete entry fails.</summary>
    public int MulticastSolicit { get; init; } = 3;

    /// <summary><c>ucast_solicit</c>: unicast probes before a Probe entry fails.</summary>
    public int UnicastSolicit { get; init; } = 3;

    /// <summary><c>gc_stale_time</c>: an unused Stale or Failed entry is removed after this long.</summary>
    public int GcStaleMillis { get; init; } = 60_000;

    /// <summary>
    /// How often a watched neighbour (<see cref="NeighborResolver.Watch"/>) is reconfirmed with a unicast probe when
    /// nothing else confirmed it: with <see cref="UnicastSolicit"/> × <see cref="RetransMillis"/>, the longest a dead
    /// watched neighbour still counts as alive (5 s + 3 × 1 s by default). Not a kernel sysctl: the kernel probes
    /// only neighbours that traffic uses.
    /// </summary>
    public int WatchMillis { get; init; } = 5_000;

    /// <summary>Entries in the table (<c>gc_thresh3</c>); a new neighbour beyond it is refused (its packet dropped).</summary>
    public int Capacity { get; init; } = 4096;
}
