using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

// Cilium's BGP control plane v2 resources (cilium.io/v2alpha1 and v2) and LB-IPAM pools, reduced to what the
// agent's BGP speaker and the LoadBalancer IP allocator use. Source is where each object (or entry) was written.

/// <summary><c>CiliumBGPClusterConfig</c>: the BGP instances (local ASN, peers) of the nodes its selector matches
/// (no selector: every node).</summary>
public sealed record BgpClusterConfigSpec(string Name, EndpointSelector? NodeSelector, ImmutableArray<BgpInstanceSpec> Instances,
    SourceLocation Source);

public sealed record BgpInstanceSpec(string Name, uint LocalAsn, ImmutableArray<BgpPeerSpec> Peers, SourceLocation Source);

/// <summary>One peer of an instance; <see cref="PeerConfigRef"/> names a <c>CiliumBGPPeerConfig</c> (null: defaults).</summary>
public sealed record BgpPeerSpec(string Name, IPAddress Address, uint PeerAsn, string? PeerConfigRef, SourceLocation Source);

/// <summary>
/// <c>CiliumBGPPeerConfig</c>: transport, timers, TCP MD5 (<see cref="AuthSecretRef"/> names a Secret whose key
/// <c>password</c> the loader resolves into <see cref="Password"/>), graceful restart and, per address family,
/// the selector over <c>CiliumBGPAdvertisement</c> labels (null: nothing advertised in that family).
/// Defaults are Cilium's.
/// </summary>
public sealed record BgpPeerConfigSpec(string Name, SourceLocation Source)
{
    public int PeerPort { get; init; } = 179;
    public ushort HoldTimeSeconds { get; init; } = 90;
    public ushort KeepAliveTimeSeconds { get; init; } = 30;
    public ushort ConnectRetryTimeSeconds { get; init; } = 120;
    public string? AuthSecretRef { get; init; }
    public SourceLocation AuthSecretAt { get; init; }
    /// <summary>Resolved from the Secret by the loader; never shown in status.</summary>
    public string? Password { get; init; }
    public bool GracefulRestart { get; init; }
    public ushort RestartTimeSeconds { get; init; } = 120;
    /// <summary>Cilium's default when <c>families</c> is absent: IPv4 and IPv6 unicast, advertising nothing.</summary>
    public ImmutableArray<BgpFamilySpec> Families { get; init; } = [new(false, null), new(true, null)];
}

public sealed record BgpFamilySpec(bool Ipv6, EndpointSelector? Advertisements);

public enum BgpAdvertisementType : byte { PodCIDR, Service }

/// <summary>One entry of a <c>CiliumBGPAdvertisement</c>'s spec.advertisements.</summary>
public sealed record BgpAdvertisementEntrySpec(BgpAdvertisementType Type, SourceLocation Source)
{
    /// <summary>For Service: which addresses (ClusterIP, ExternalIP, LoadBalancerIP).</summary>
    public bool ClusterIp { get; init; }
    public bool ExternalIp { get; init; }
    public bool LoadBalancerIp { get; init; }
    /// <summary>For Service: which services (over their labels plus io.kubernetes.service.name/namespace); null selects none, as in Cilium.</summary>
    public EndpointSelector? Selector { get; init; }
    /// <summary>attributes.communities.standard and .wellKnown as 32-bit values.</summary>
    public ImmutableArray<uint> Communities { get; init; } = [];
    public uint? LocalPreference { get; init; }
}

public sealed record BgpAdvertisementSpec(string Name, ImmutableSortedDictionary<string, string> Labels,
    ImmutableArray<BgpAdvertisementEntrySpec> Entries, SourceLocation Source);

/// <summary><c>CiliumBGPNodeConfigOverride</c> (named after the node it applies to).</summary>
public sealed record BgpNodeOverrideSpec(string NodeName, ImmutableArray<BgpInstanceOverrideSpec> Instances, SourceLocation Source);

public sealed record BgpInstanceOverrideSpec(string Name, IPAddress? RouterId, int? LocalPort, uint? LocalAsn,
    ImmutableArray<BgpPeerOverrideSpec> Peers, SourceLocation Source);

public sealed record BgpPeerOverrideSpec(string Name, IPAddress? LocalAddress, SourceLocation Source);

/// <summary>Everything BGP in a configuration; empty when no CiliumBGPClusterConfig exists.</summary>
public sealed record BgpConfigSpec(ImmutableArray<BgpClusterConfigSpec> ClusterConfigs, ImmutableArray<BgpPeerConfigSpec> PeerConfigs,
    ImmutableArray<BgpAdvertisementSpec> Advertisements, ImmutableArray<BgpNodeOverrideSpec> NodeOverrides)
{
    public static BgpConfigSpec Empty { get; } = new([], [], [], []);
    public bool IsEmpty => ClusterConfigs.IsEmpty;
}

/// <summary>One block of an LB-IPAM pool as an inclusive address range (a CIDR or start/stop).</summary>
public sealed record LbIpBlockSpec(IPAddress First, IPAddress Last, bool FromCidr, SourceLocation Source);

/// <summary><c>CiliumLoadBalancerIPPool</c>: blocks, which services may take from it (null: all), disabled,
/// allowFirstLastIPs (default yes, as in Cilium ≥ 1.16).</summary>
public sealed record LbIpPoolSpec(string Name, ImmutableArray<LbIpBlockSpec> Blocks, EndpointSelector? ServiceSelector,
    bool Disabled, bool AllowFirstLastIps, SourceLocation Source);

/// <summary>An address LB-IPAM gave a LoadBalancer service (it then is one of the service's LoadBalancerIps).</summary>
public sealed record LbIpAllocation(string Namespace, string Service, IPAddress Ip, string Pool);

/// <summary>A LoadBalancer service that got no address in a family, and why.</summary>
public sealed record LbIpPending(string Namespace, string Service, string Reason);

/// <summary>A route learned at run time (BGP): the prefix and the next hops it is spread over (ECMP).</summary>
public sealed record LearnedRouteSpec(IPNetwork Prefix, ImmutableArray<IPAddress> NextHops, string Origin);
