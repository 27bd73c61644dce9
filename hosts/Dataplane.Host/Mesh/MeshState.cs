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

    /// <summary>Copies the view's tables now; <paramref name="pinned"/> are this cluster's pod identities.</summary>
    public static MeshState Capture(long version, ClusterMeshView view, IReadOnlyDictionary<string, SecurityIdentity> pinned) =>
        new(version, view.TunnelEndpoints(), view.PolicyInput() with { Pinned = pinned },
            [.. view.Remotes.SelectMany(r => r.Services())]);
}
