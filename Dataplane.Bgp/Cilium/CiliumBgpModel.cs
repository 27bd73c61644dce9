using System.Net;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Cilium;

// The subset of Cilium's BGP control-plane CRDs (cilium.io/v2alpha1 and v2) and of the Kubernetes objects
// they select that the announcer needs, as read from YAML.

/// <summary><c>CiliumBGPClusterConfig</c>: which nodes run which BGP instances with which peers.</summary>
public sealed record CiliumBgpClusterConfig(string Name, LabelSelector? NodeSelector, IReadOnlyList<CiliumBgpInstance> Instances);

public sealed record CiliumBgpInstance(string Name, uint LocalAsn, IReadOnlyList<CiliumBgpPeer> Peers);

public sealed record CiliumBgpPeer(string Name, uint PeerAsn, IPAddress PeerAddress, string? PeerConfigRef);

/// <summary><c>CiliumBGPPeerConfig</c>: transport, timers, graceful restart and per-family advertisement selectors.</summary>
public sealed record CiliumBgpPeerConfig(string Name)
{
    public int PeerPort { get; init; } = 179;
    public ushort HoldTimeSeconds { get; init; } = 90;
    public int ConnectRetryTimeSeconds { get; init; } = 120;
    public bool GracefulRestart { get; init; }
    public ushort RestartTimeSeconds { get; init; } = 120;
    public IReadOnlyList<CiliumBgpFamily> Families { get; init; } =
        [new(Family.Ipv4Unicast, null), new(Family.Ipv6Unicast, null)];
}

/// <summary>A family and the selector over <c>CiliumBGPAdvertisement</c> labels (null: advertise nothing).</summary>
public sealed record CiliumBgpFamily(Family Family, LabelSelector? Advertisements);

/// <summary><c>CiliumBGPAdvertisement</c>.</summary>
public sealed record CiliumBgpAdvertisement(string Name, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<CiliumAdvertisementEntry> Entries);

/// <summary>One entry of <c>spec.advertisements</c>: PodCIDR or Service (with address kinds and selector).</summary>
public sealed record CiliumAdvertisementEntry(string Type)
{
    /// <summary>For Service: any of ClusterIP, ExternalIP, LoadBalancerIP.</summary>
    public IReadOnlyList<string> ServiceAddresses { get; init; } = [];
    /// <summary>For Service: which services; null selects none (as in Cilium).</summary>
    public LabelSelector? Selector { get; init; }
    public IReadOnlyList<uint> Communities { get; init; } = [];
    public uint? LocalPreference { get; init; }
}

/// <summary>A <c>v1 Node</c>: its labels and pod CIDRs.</summary>
public sealed record KubeNode(string Name, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<BgpPrefix> PodCidrs);

/// <summary>A <c>v1 Service</c> with the fields advertisement depends on.</summary>
public sealed record KubeService(string Namespace, string Name, IReadOnlyDictionary<string, string> Labels)
{
    public IReadOnlyList<IPAddress> ClusterIps { get; init; } = [];
    public IReadOnlyList<IPAddress> ExternalIps { get; init; } = [];
    public IReadOnlyList<IPAddress> LoadBalancerIps { get; init; } = [];
    public bool ExternalTrafficPolicyLocal { get; init; }
    public bool InternalTrafficPolicyLocal { get; init; }
}

/// <summary>A <c>discovery.k8s.io/v1 EndpointSlice</c>: the ready backends of a service, by node.</summary>
public sealed record KubeEndpointSlice(string Namespace, string ServiceName, IReadOnlyList<(string? NodeName, bool Ready)> Endpoints);

/// <summary>Everything read from a directory or stream of manifests.</summary>
public sealed record CiliumBgpResources
{
    public List<CiliumBgpClusterConfig> ClusterConfigs { get; } = [];
    public Dictionary<string, CiliumBgpPeerConfig> PeerConfigs { get; } = [];
    public List<CiliumBgpAdvertisement> Advertisements { get; } = [];
    public Dictionary<string, KubeNode> Nodes { get; } = [];
    public List<KubeService> Services { get; } = [];
    public List<KubeEndpointSlice> EndpointSlices { get; } = [];
}
