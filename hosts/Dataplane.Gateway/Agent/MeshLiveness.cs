using Dataplane.Core.Neighbors;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Agent;

namespace Dataplane.Gateway.Agent;

/// <summary>
/// Which mesh nodes the gateway can reach, so that it never attracts traffic it would black-hole: the underlay next
/// hop of every tunnel peer (the node itself on a shared link, else the router toward it) is a watched neighbour,
/// reprobed without traffic (<see cref="NeighborResolver.Watch"/>). A node whose next hop stops answering has its
/// pod CIDRs withdrawn; when no node answers (the mesh is lost) the portal VIPs go too; each comes back with the
/// first answer. Backends without our neighbour resolution (eBPF: the kernel resolves) count every node as up.
/// Called once a second from the agent's loop, never from a worker.
/// </summary>
internal sealed class MeshLiveness
{
    private OverlayPeersKey _watching;
    private HashSet<string> _down = new(StringComparer.Ordinal);
    private int _peerCount;

    /// <summary>Nodes whose next hop does not answer now (their pod CIDRs are not announced).</summary>
    public IReadOnlySet<string> Down => Volatile.Read(ref _down);

    /// <summary>True when the gateway has mesh peers and none of them answers.</summary>
    public bool MeshLost => Down.Count > 0 && Down.Count == Volatile.Read(ref _peerCount);

    public void Poll(HostAgent agent)
    {
        if (agent.PacketIo.Resolver is not { } resolver) return;
        var snapshot = agent.Snapshot;
        var peers = snapshot.Overlay.Peers;
        var byNode = new Dictionary<string, NeighborKey?>(StringComparer.Ordinal);
        foreach (var p in peers)
            byNode[p.Name] = p.NeighborFamily == 0 ? null : new NeighborKey(p.Port, p.NeighborFamily == 6, p.NeighborAddress);
        var key = new OverlayPeersKey(snapshot.Overlay);
        if (!key.Equals(_watching))
        {
            resolver.Watch(byNode.Values.OfType<NeighborKey>().Distinct());
            _watching = key;
        }
        var down = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (node, k) in byNode)
            if (k is { } watched && resolver.IsAlive(watched) == false) down.Add(node);
        Volatile.Write(ref _peerCount, byNode.Count);
        if (down.SetEquals(_down)) return;
        var came = _down.Except(down).ToList();
        var went = down.Except(_down).ToList();
        Volatile.Write(ref _down, down);
        var what = new List<string>();
        if (went.Count > 0) what.Add($"mesh node(s) {string.Join(", ", went.Order(StringComparer.Ordinal))} unreachable: their pod CIDRs withdrawn");
        if (came.Count > 0) what.Add($"mesh node(s) {string.Join(", ", came.Order(StringComparer.Ordinal))} reachable again: announced");
        if (MeshLost) what.Add("the whole mesh is unreachable: portal VIPs withdrawn too");
        agent.AnnouncementsChanged(string.Join("; ", what));
    }

    /// <summary>Identity of the overlay state the watch was set for (a new snapshot may keep the same one).</summary>
    private readonly record struct OverlayPeersKey(Dataplane.Core.Overlay.OverlayState? State);
}
