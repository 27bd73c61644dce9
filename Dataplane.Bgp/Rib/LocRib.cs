using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Rib;

/// <summary>
/// All learned paths per prefix (one per peer) and the selected ECMP set. Thread-safe: peers update it from
/// their own loops, the dataplane reads it from anywhere. Changes to the selected set raise
/// <see cref="Changed"/> (outside the lock, in update order per peer).
/// </summary>
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
            if (!_paths.TryGetValue(route.Prefix, out var list)) _paths[route.Prefix] = list = [];
            int i = list.FindIndex(r => r.Peer.Address.Equals(route.Peer.Address));
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
            if (_paths.TryGetValue(prefix, out var list) && list.RemoveAll(r => r.Peer.Address.Equals(peer.Address)) > 0)
            {
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
        lock (_lock) return _best.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<LearnedRoute>)kv.Value);
    }

    public int Count
    {
        get { lock (_lock) return _best.Count; }
    }

    private RouteChange? Reselect(BgpPrefix prefix, List<LearnedRoute> list)
    {
        LearnedRoute[] best = [];
        if (list.Count > 0)
        {
            var sorted = list.ToArray();
            Array.Sort(sorted, BestPathComparer.Compare);
            best = [.. sorted.TakeWhile(r => BestPathComparer.CompareForMultipath(r, sorted[0]) == 0)];
        }
        _best.TryGetValue(prefix, out var old);
        if (old is not null && old.SequenceEqual(best)) return null;
        if (best.Length == 0) _best.Remove(prefix); else _best[prefix] = best;
        if (old is null && best.Length == 0) return null;
        return new RouteChange(prefix, best);
    }
}
