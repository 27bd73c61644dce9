using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Rib;

/// <summary>
/// All learned paths per prefix (one per peer) and the selected ECMP set. Thread-safe: peers update it from
/// their own loops, the dataplane reads it from anywhere. Changes to the selected set raise
/// <see cref="Changed"/> (outside the lock, in update order per peer).
/// </summary>
/// <remarks>A full table is a million prefixes arriving in a few seconds: one peer's path per prefix is the common
/// case, selected without sorting or allocating beyond the one-element ECMP set.</remarks>
public sealed class LocRib
{
    private readonly Lock _lock = new();
    private readonly Dictionary<BgpPrefix, List<LearnedRoute>> _paths = [];
    private readonly Dictionary<BgpPrefix, LearnedRoute[]> _best = [];

    public event Action<RouteChange>? Changed;

    /// <summary>Called with exceptions thrown by <see cref="Changed"/> handlers (which are otherwise ignored).</summary>
    public Action<Exception>? HandlerFailed { get; set; }

    /// <summary>Adds or replaces the path of <paramref name="route"/>'s peer for its prefix.</summary>
    public void Upsert(LearnedRoute route)
    {
        RouteChange? change;
        lock (_lock)
        {
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(_paths, route.Prefix, out _);
            list ??= new List<LearnedRoute>(1);
            int i = IndexOf(list, route.Peer);
            if (i >= 0) list[i] = route; else list.Add(route);
            change = Reselect(route.Prefix, list);
        }
        if (change is not null) SafeEvent.Raise(Changed, change, HandlerFailed);
    }

    /// <summary>Removes the path from <paramref name="peer"/> for <paramref name="prefix"/>, if any.</summary>
    public void Remove(BgpPrefix prefix, PeerIdentity peer)
    {
        RouteChange? change = null;
        lock (_lock)
        {
            if (_paths.TryGetValue(prefix, out var list) && IndexOf(list, peer) is var i and >= 0)
            {
                list.RemoveAt(i);
                if (list.Count == 0) _paths.Remove(prefix);
                change = Reselect(prefix, list);
            }
        }
        if (change is not null) SafeEvent.Raise(Changed, change, HandlerFailed);
    }

    /// <summary>The ECMP set for a prefix (exact match), best first; empty when unknown.</summary>
    public IReadOnlyList<LearnedRoute> BestPaths(BgpPrefix prefix)
    {
        lock (_lock) return _best.TryGetValue(prefix, out var b) ? b : [];
    }

    /// <summary>A copy of every selected ECMP set, for building a routing table.</summary>
    public Dictionary<BgpPrefix, IReadOnlyList<LearnedRoute>> Snapshot()
    {
        lock (_lock)
        {
            var copy = new Dictionary<BgpPrefix, IReadOnlyList<LearnedRoute>>(_best.Count);
            foreach (var (p, b) in _best) copy.Add(p, b);
            return copy;
        }
    }

    /// <summary>Every selected ECMP set (best first) in one array, for building a routing table from a full table:
    /// one copy, no dictionary rebuilt. The sets are the RIB's own, never changed after selection.</summary>
    public KeyValuePair<BgpPrefix, LearnedRoute[]>[] BestSets()
    {
        lock (_lock)
        {
            var all = new KeyValuePair<BgpPrefix, LearnedRoute[]>[_best.Count];
            int n = 0;
            foreach (var kv in _best) all[n++] = kv;
            return all;
        }
    }

    public int Count
    {
        get { lock (_lock) return _best.Count; }
    }

    private static int IndexOf(List<LearnedRoute> list, PeerIdentity peer)
    {
        for (int i = 0; i < list.Count; i++)
            if (list[i].Peer.Address.Equals(peer.Address)) return i;
        return -1;
    }

    private RouteChange? Reselect(BgpPrefix prefix, List<LearnedRoute> list)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(_best, prefix);
        var old = Unsafe.IsNullRef(ref slot) ? null : slot;
        LearnedRoute[] best;
        if (list.Count == 0) best = [];
        else if (list.Count == 1)
        {
            // One peer's path is the set: no sort, no copy of the candidates.
            if (old is { Length: 1 } && old[0].Equals(list[0])) return null;
            best = [list[0]];
        }
        else
        {
            var sorted = list.ToArray();
            Array.Sort(sorted, BestPathComparer.Compare);
            int ties = 1;
            while (ties < sorted.Length && BestPathComparer.CompareForMultipath(sorted[ties], sorted[0]) == 0) ties++;
            best = ties == sorted.Length ? sorted : sorted[..ties];
        }
        if (old is not null && old.AsSpan().SequenceEqual(best)) return null;
        if (best.Length == 0) _best.Remove(prefix);
        else if (old is not null) slot = best;
        else _best[prefix] = best;
        if (old is null && best.Length == 0) return null;
        return new RouteChange(prefix, best);
    }
}
