using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Overlay;

namespace Dataplane.Control.Config;

/// <summary>
/// DataplaneNode <c>spec.overlay</c>: how remote nodes' pod CIDRs are reached (native routing, VXLAN or SRv6),
/// the VXLAN port, outer source addresses, this node's SRv6 locators and local SIDs, and per-peer overrides.
/// </summary>
public sealed record OverlaySpec(
    TunnelMode Mode,
    ushort VxlanPort,
    bool UnderlayIpv6,
    IPAddress? Source4,
    IPAddress? Source6,
    ImmutableArray<IPNetwork> Locators,
    ImmutableArray<LocalSidSpec> Sids,
    ImmutableArray<TunnelPeerSpec> Peers,
    SourceLocation Source)
{
    /// <summary>Cilium's VXLAN port (IANA's is 4789).</summary>
    public const ushort CiliumVxlanPort = 8472;

    public static OverlaySpec Default(SourceLocation at) =>
        new(TunnelMode.Native, CiliumVxlanPort, false, null, null, [], [], [], at);
}

/// <summary>A local SID: an address of ours that runs an SRv6 endpoint behaviour. End.X names its adjacency.</summary>
public sealed record LocalSidSpec(IPAddress Sid, Srv6Behavior Behavior, IPAddress? NextHop, SourceLocation Source);

/// <summary>
/// A tunnel peer: either a v1 Node by name (its InternalIP is the endpoint, its pod CIDRs go through the tunnel)
/// or a bare endpoint address (a VTEP outside Kubernetes) with the prefixes behind it. Unset fields fall back to
/// the Node's <c>dataplane.io/*</c> annotations, then to the overlay defaults.
/// </summary>
public sealed record TunnelPeerSpec(
    string? Node,
    IPAddress? Endpoint,
    TunnelMode? Mode,
    uint Vni,
    MacAddress? InnerMac,
    ImmutableArray<IPAddress> Segments,
    IPAddress? Sid4,
    IPAddress? Sid6,
    bool Reduced,
    ImmutableArray<IPNetwork> Prefixes,
    SourceLocation Source);

/// <summary>
/// What a Node advertises about itself through annotations: <c>dataplane.io/tunnel</c> (native|vxlan|srv6),
/// <c>dataplane.io/srv6-sid4</c> / <c>srv6-sid6</c> (its End.DT4/DT6/DT46 SIDs) and <c>dataplane.io/vxlan-mac</c>.
/// </summary>
public sealed record NodeTunnelSpec(TunnelMode? Mode, IPAddress? Sid4, IPAddress? Sid6, MacAddress? VxlanMac);

/// <summary>Cilium's <c>cilium.io/v2alpha1 CiliumSRv6VRF</c>: which pods and destinations belong to a VRF.</summary>
public sealed record Srv6VrfSpec(string Name, uint VrfId, ImmutableArray<Srv6VrfRule> Rules, SourceLocation Source);

public sealed record Srv6VrfRule(ImmutableArray<EndpointSelector> Selectors, ImmutableArray<IPNetwork> DestinationCidrs);

/// <summary>Cilium's <c>cilium.io/v2alpha1 CiliumSRv6EgressPolicy</c>: destinations of a VRF sent to an SRv6 SID.</summary>
public sealed record Srv6EgressPolicySpec(string Name, uint VrfId, ImmutableArray<IPNetwork> DestinationCidrs,
    IPAddress DestinationSid, SourceLocation Source, SourceLocation VrfIdAt, ImmutableArray<SourceLocation> CidrAt);
