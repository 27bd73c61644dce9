using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Core.Overlay;

namespace Dataplane.Host.Mesh;

/// <summary>
/// Folds a <see cref="MeshState"/> into the node's validated model, so the ordinary compilers do the rest: every
/// remote cluster's node becomes a Node reached over VXLAN (its pod CIDRs become Tunnel routes, its InternalIPs
/// accepted tunnel senders, and the VNI carries the source identity as between this cluster's nodes), and global
/// services get their merged backend lists (<see cref="MeshServices"/>). With overlapping pod CIDR support, remote
/// backends are marked with their cluster (reached by (cluster, address), SNATed to this node) and remote nodes'
/// addresses are tunnelled. Pure: no I/O, same input, same model.
/// </summary>
public static class MeshModel
{
    /// <summary>Marks what the mesh added, for error messages (there is no YAML behind it).</summary>
    public static SourceLocation Source(string cluster) => new($"clustermesh:{cluster}", 0, 0);

    /// <param name="overlapping">Cluster Mesh's overlapping pod CIDR support: a remote node whose pod CIDRs overlap
    /// stays a tunnel peer (its global-service backends are reached by (cluster, address)), and every remote node's
    /// addresses are routed through its tunnel (replies to its inter-cluster SNAT address).</param>
    public static ConfigModel Augment(ConfigModel model, MeshState state, string localCluster, uint localClusterId, bool overlapping = false)
    {
        if (ReferenceEquals(state, MeshState.Empty)) return model;
        var nodes = model.Nodes.ToBuilder();
        var names = model.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var ours = model.Nodes.SelectMany(n => n.PodCidrs).ToList();
        var taken = new List<IPNetwork>(ours);
        var routes = model.Local.Routes.ToBuilder();
        foreach (var t in state.Nodes.OrderBy(t => t.ClusterId).ThenBy(t => t.Node, StringComparer.Ordinal))
        {
            // A name this cluster already uses, or pod CIDRs overlapping ours or an earlier remote's, cannot be
            // routed by address: such a node is left out (its pods stay reachable to nobody rather than to the
            // wrong one). Cilium requires non-overlapping pod CIDRs across a mesh for the same reason.
            if (t.Addresses.Count == 0 || !names.Add(t.Node)) continue;
            var cidrs = t.PodCidrs.Where(c => !taken.Any(o => Overlaps(o, c))).ToImmutableArray();
            if (cidrs.IsEmpty && !overlapping) continue;   // nothing of it can be routed: not a tunnel peer either
            taken.AddRange(cidrs);
            // Its WireGuard key travels as Cilium's Node annotation, so encryption finds mesh peers as it finds local ones.
            var annotations = t.WireguardPublicKey is { Length: > 0 } wg
                ? ImmutableSortedDictionary<string, string>.Empty.Add(EncryptionSpec.PublicKeyAnnotation, wg)
                : ImmutableSortedDictionary<string, string>.Empty;
            nodes.Add(new NodeSpec(t.Node, ImmutableSortedDictionary<string, string>.Empty,
                annotations, cidrs, [.. t.Addresses], Source(t.Cluster),
                TunnelTo(t, routes, overlapping))
            {
                TunnelledAddresses = overlapping ? [.. t.Addresses.Select(a => new IPNetwork(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))] : [],
            });
        }
        return model with
        {
            Local = routes.Count == model.Local.Routes.Length ? model.Local : model.Local with { Routes = routes.ToImmutable() },
            Nodes = nodes.ToImmutable(),
            EndpointSlices = MeshServices.MergedSlices(model, state.Services, localCluster, localClusterId, overlapping),
        };
    }

    /// <summary>
    /// VXLAN, unless the node published SRv6 with its SIDs (<see cref="NodeTunnelAnnotations"/>) and has an IPv6
    /// InternalIP: then SRv6, each SID routed (/128) via that InternalIP — the SID's locator is the remote node's, and
    /// the node itself is the way to it (as a locator route toward its node would be in one cluster). With overlapping
    /// pod CIDRs always VXLAN: SRv6 carries no identity, and the source address alone no longer names the sender.
    /// </summary>
    private static NodeTunnelSpec TunnelTo(TunnelEndpoint t, ImmutableArray<RouteSpec>.Builder routes, bool overlapping)
    {
        var via = t.Addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6);
        if (overlapping || NodeTunnelAnnotations.Srv6(t.Annotations) is not { } sids || via is null)
            return new NodeTunnelSpec(TunnelMode.Vxlan, null, null, null);
        foreach (var sid in new[] { sids.Sid4, sids.Sid6 })
        {
            if (sid is null) continue;
            var dst = new IPNetwork(sid, 128);
            if (!routes.Any(r => r.Destination.Equals(dst))) routes.Add(new RouteSpec(dst, via, null, Source(t.Cluster)));
        }
        return new NodeTunnelSpec(TunnelMode.Srv6, sids.Sid4, sids.Sid6, null);
    }

    private static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));
}
