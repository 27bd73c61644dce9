using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>dataplane.io/v1alpha1 ExternalWorkload</c> (namespaced): a VM, a server or a subnet outside Kubernetes named
/// with labels. Its identity is derived from the labels like a pod's (namespace included), so a CiliumNetworkPolicy
/// selects it with <c>fromEndpoints</c>/<c>toEndpoints</c>; its addresses enter the ipcache with that identity.
/// <see cref="Gateway"/> names the Node (a <c>dataplane-gateway</c>) that serves its network: other nodes route its
/// addresses to that gateway through the overlay, as they route a node's pod CIDRs.
/// </summary>
public sealed record ExternalWorkloadSpec(string Namespace, string Name, ImmutableSortedDictionary<string, string> Labels,
    ImmutableArray<IPNetwork> Addresses, string? Gateway, SourceLocation Source, SourceLocation GatewayAt,
    ImmutableArray<SourceLocation> AddressAt);

/// <summary>
/// <c>dataplane.io/v1alpha1 DataplaneGateway</c> (cluster-scoped, named after the gateway's DataplaneNode): which of
/// its interfaces face the mesh (the overlay toward the nodes) and which the on-premises networks, and the on-prem
/// prefixes it serves (routes learned by BGP outside them are not installed; external workloads it serves must lie
/// inside them). Only <c>dataplane-gateway</c> reads it; a node's loader accepts and ignores it.
/// </summary>
public sealed record GatewaySpec(string Name, ImmutableArray<string> MeshInterfaces, ImmutableArray<string> OnPremInterfaces,
    ImmutableArray<IPNetwork> OnPremPrefixes, SourceLocation Source, SourceLocation NameAt,
    ImmutableArray<SourceLocation> MeshInterfaceAt, ImmutableArray<SourceLocation> OnPremInterfaceAt);
