using System.Net.Sockets;
using Dataplane.Core.Overlay;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Compiles the endpoints other clusters are reached by (cluster, address) — Cluster Mesh global-service backends
/// when pod CIDRs overlap — into the snapshot's <see cref="ClusterAddressTable"/>: each IPv4 endpoint whose host node
/// is a tunnel peer gets a Tunnel next hop toward that node (one per node) and its identity. An endpoint whose node is
/// not a peer (not yet known, or left without an InternalIP) is left out: its packets drop with
/// NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT (160) rather than going to the local address of the same value. IPv6 endpoints
/// are not translated (as in Cilium, overlapping pod CIDRs are IPv4 only) and are never marked by the mesh.
/// </summary>
public static class ClusterRouteCompiler
{
    public static ClusterAddressTable Compile(ExternalIdentities? external, SnapshotBuilder b, OverlayState overlay)
    {
        if (external is null || external.ClusterEndpoints.Count == 0) return ClusterAddressTable.Empty;
        var hops = new Dictionary<UInt128, uint>();
        var entries = new List<ClusterAddressTable.Entry>();
        var seen = new HashSet<(byte, uint)>();
        foreach (var e in external.ClusterEndpoints)
        {
            if (e.Cluster == 0 || e.Address.AddressFamily != AddressFamily.InterNetwork) continue;
            var key = TunnelPeerFactory.IndexKey(e.HostIp);
            if (!hops.TryGetValue(key, out uint hop))
            {
                int peer = overlay.PeerIndex.Find(key);
                if (peer < 0) continue;
                ref readonly TunnelPeer t = ref overlay.Peers[peer];
                var (value, v6) = TunnelPeerFactory.NextHopKey(e.HostIp);
                hops[key] = hop = b.AddNextHop(new NextHop(NextHopKind.Tunnel, t.Port, 0, b.Ports[t.Port].Mac, 0, value, v6));
            }
            uint address = RoutePrefix.ToUInt32(e.Address);
            if (seen.Add((e.Cluster, address))) entries.Add(new ClusterAddressTable.Entry(e.Cluster, address, hop, e.Identity));
        }
        return new ClusterAddressTable(entries);
    }

    /// <summary>The translated pod ranges of other clusters (<see cref="ClusterNetmap"/>), in the order given.</summary>
    public static ClusterNetmap Netmap(ExternalIdentities? external)
    {
        if (external is null || external.ClusterTranslations.Count == 0) return ClusterNetmap.Empty;
        var ranges = new List<ClusterNetmap.Range>();
        foreach (var t in external.ClusterTranslations)
        {
            uint mask = t.As.PrefixLength == 0 ? 0 : uint.MaxValue << (32 - t.As.PrefixLength);
            ranges.Add(new ClusterNetmap.Range(RoutePrefix.ToUInt32(t.As.BaseAddress) & mask, RoutePrefix.ToUInt32(t.PodCidr.BaseAddress) & mask, mask, t.Cluster));
        }
        return new ClusterNetmap(ranges);
    }
}
