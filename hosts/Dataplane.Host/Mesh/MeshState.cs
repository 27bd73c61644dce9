using System.Net;
using System.Net.Sockets;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Core.Identity;
using Dataplane.Core.Policy;
using Dataplane.Control.Compiler;

namespace Dataplane.Host.Mesh;

/// <summary>
/// What Cluster Mesh contributes to one compilation, taken as a whole: the remote clusters' nodes (tunnel
/// endpoints), their identities and ipcache entries with this cluster's pinned pod identities
/// (<see cref="ExternalIdentities"/>), and their shared services. Immutable, so a snapshot is compiled from one
/// moment and a state that fails to compile can be set aside while the last good one stays in force.
/// </summary>
public sealed record MeshState(long Version, IReadOnlyList<TunnelEndpoint> Nodes, ExternalIdentities External,
    IReadOnlyList<ClusterService> Services)
{
    public static MeshState Empty { get; } = new(0, [], new ExternalIdentities([], []), []);

    /// <summary>Copies the view's tables now; <paramref name="pinned"/> are this cluster's pod identities. With
    /// <paramref name="overlapping"/> pod CIDR support, every shared service backend's (cluster, address) entry too.</summary>
    public static MeshState Capture(long version, ClusterMeshView view, IReadOnlyDictionary<string, SecurityIdentity> pinned,
        bool overlapping = false)
    {
        List<ClusterService> services = [.. view.Remotes.SelectMany(r => r.Services())];
        var external = view.PolicyInput() with { Pinned = pinned };
        if (overlapping) external = external with { ClusterEndpoints = BackendEndpoints(view, services), ClusterTranslations = Translations(view) };
        return new(version, view.TunnelEndpoints(), external, services);
    }

    /// <summary>The translated pod ranges of the remote clusters whose ID is known.</summary>
    private static List<ClusterTranslation> Translations(ClusterMeshView view) =>
        [.. view.Remotes.Where(r => r.ClusterId is > 0 and <= 255)
            .SelectMany(r => r.Config.TranslatedPodCidrs.Select(t => new ClusterTranslation((byte)r.ClusterId, t.PodCidr, t.As)))];

    /// <summary>The ipcache entries, keyed by (cluster, address), of the remote services' backends and of the pods in
    /// translated pod ranges (with their node).</summary>
    private static List<ClusterEndpoint> BackendEndpoints(ClusterMeshView view, List<ClusterService> services)
    {
        var wanted = new HashSet<(uint, IPAddress)>();
        foreach (var s in services)
            foreach (var ip in s.Backends.Keys)
                if (IPAddress.TryParse(ip, out var a)) wanted.Add((s.ClusterId, a));
        var list = new List<ClusterEndpoint>();
        foreach (var r in view.Remotes)
        {
            // Every pod of a cluster with translated pod ranges is reachable; otherwise only service backends.
            var translated = r.Config.TranslatedPodCidrs;
            if (wanted.Count == 0 && translated.Count == 0) continue;
            foreach (var e in r.Endpoints())
            {
                bool host = e.Prefix.PrefixLength == (e.Prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
                if (!host || e.HostIp is not { } node || e.ClusterId is 0 or > 255) continue;
                if (wanted.Contains((e.ClusterId, e.Prefix.BaseAddress)) || translated.Any(t => t.PodCidr.Contains(e.Prefix.BaseAddress)))
                    list.Add(new ClusterEndpoint((byte)e.ClusterId, e.Prefix.BaseAddress, e.Identity, node));
            }
        }
        return list;
    }
}
