using System.Net;

namespace Dataplane.ClusterMesh.Remote;

/// <summary>
/// An ipcache entry of another cluster. Keyed by (<see cref="ClusterId"/>, <see cref="Prefix"/>): clusters may
/// use overlapping pod CIDRs, so the address alone does not name an endpoint.
/// </summary>
public sealed record RemoteEndpoint(uint ClusterId, string Cluster, IPNetwork Prefix, uint Identity, IPAddress? HostIp,
    string? Namespace, string? PodName);

/// <summary>A node of another cluster: where to tunnel traffic for its pod CIDRs, and how (its published
/// <see cref="Model.NodeTunnelAnnotations"/>: SRv6 with its SIDs, else VXLAN).</summary>
public sealed record TunnelEndpoint(string Cluster, uint ClusterId, string Node, IReadOnlyList<IPAddress> Addresses,
    IReadOnlyList<IPNetwork> PodCidrs, IReadOnlyDictionary<string, string>? Annotations = null)
{
    /// <summary>Its WireGuard public key when it publishes one (transparent encryption).</summary>
    public string? WireguardPublicKey { get; init; }
}
