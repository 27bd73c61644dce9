using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Policy;

namespace Dataplane.Control.Config;

public enum ServiceType : byte { ClusterIP, NodePort, LoadBalancer }

/// <summary>Backend selection per <c>service.cilium.io/lb-algorithm</c>; Default follows the DataplaneNode.</summary>
public enum LbAlgorithm : byte { Default, Random, Maglev }

/// <summary>
/// One entry of a Service's spec.ports. <see cref="TargetPort"/> is numeric or <see cref="TargetPortName"/> is
/// set (a named container port); backends' actual ports come from the EndpointSlice port with this port's
/// <see cref="Name"/>, as kube-proxy and Cilium take them. <see cref="NodePort"/> is 0 when not exposed.
/// </summary>
public sealed record ServicePortSpec(string Name, byte Protocol, ushort Port, ushort TargetPort, string? TargetPortName,
    ushort NodePort, SourceLocation Source);

/// <summary>
/// A Kubernetes <c>v1 Service</c> reduced to what load balancing needs. <see cref="ClusterIps"/> is empty for a
/// headless service (clusterIP: None), which gets no frontend.
/// </summary>
public sealed record ServiceSpec(string Namespace, string Name, ServiceType Type, ImmutableArray<IPAddress> ClusterIps,
    ImmutableArray<IPAddress> ExternalIps, ImmutableArray<IPAddress> LoadBalancerIps, ImmutableArray<ServicePortSpec> Ports,
    bool AffinityClientIp, uint AffinityTimeoutSeconds, bool ExternalTrafficLocal, bool InternalTrafficLocal,
    LbAlgorithm Algorithm, SourceLocation Source)
{
    public bool Headless => ClusterIps.IsEmpty;
    public string QualifiedName => $"{Namespace}/{Name}";

    /// <summary>metadata.annotations, for consumers beyond load balancing (Cluster Mesh's service.cilium.io/global…).</summary>
    public ImmutableSortedDictionary<string, string> Annotations { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Set when the manifest gave no cluster IP (and not None): <see cref="ServiceIpam"/> allocates them.</summary>
    public ClusterIpRequest? ClusterIpRequest { get; init; }

    /// <summary>spec.selector: the pods whose endpoints the service gets (<see cref="EndpointSliceController"/>); null for a
    /// selector-less service, whose endpoints come from hand-written EndpointSlices.</summary>
    public ImmutableSortedDictionary<string, string>? Selector { get; init; }

    /// <summary>metadata.labels: what BGP advertisements and LB-IPAM pools select services by.</summary>
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = ImmutableSortedDictionary<string, string>.Empty;
}

/// <summary>One endpoint of an EndpointSlice: its addresses, conditions (unset ready = true) and node.</summary>
public sealed record SliceEndpointSpec(ImmutableArray<IPAddress> Addresses, bool Ready, bool Serving, bool Terminating,
    string NodeName, SourceLocation Source)
{
    /// <summary>
    /// Cluster Mesh with overlapping pod CIDRs: the ID of the remote cluster this endpoint is in, so its IPv4
    /// addresses are reached by (cluster, address) (<see cref="Compiler.ExternalIdentities.ClusterEndpoints"/>); 0 = by address.
    /// </summary>
    public byte Cluster { get; init; }
}

public sealed record SlicePortSpec(string Name, byte Protocol, ushort Port);

/// <summary>A <c>discovery.k8s.io/v1 EndpointSlice</c> of the service named by its kubernetes.io/service-name label.</summary>
public sealed record EndpointSliceSpec(string Namespace, string Name, string ServiceName, bool Ipv6,
    ImmutableArray<SliceEndpointSpec> Endpoints, ImmutableArray<SlicePortSpec> Ports, SourceLocation Source);

/// <summary>One source selector of an egress gateway policy: pods matching both selectors (namespace selector
/// over the namespace's labels; absent = any namespace).</summary>
public sealed record EgressSourceSelector(EndpointSelector Pods);

/// <summary>
/// A gateway group: every node matching <see cref="NodeSelector"/> is a gateway; traffic leaves it from
/// <see cref="EgressIp"/>, else from the first address of <see cref="Interface"/>, else from the node IP of the
/// interface the route picks.
/// </summary>
public sealed record EgressGatewaySpec(EndpointSelector NodeSelector, IPAddress? EgressIp, string? Interface,
    SourceLocation Source);

/// <summary>
/// <c>cilium.io/v2 CiliumEgressGatewayPolicy</c>; <see cref="Gateways"/> holds spec.egressGateway and, beyond OSS
/// Cilium, every entry of spec.egressGateways.
/// </summary>
public sealed record EgressGatewayPolicySpec(string Name, ImmutableArray<EgressSourceSelector> Selectors,
    ImmutableArray<IPNetwork> DestinationCidrs, ImmutableArray<IPNetwork> ExcludedCidrs,
    ImmutableArray<EgressGatewaySpec> Gateways, SourceLocation Source)
{
    /// <summary>Gateways[0] is spec.egressGateway (one node, as in OSS Cilium) rather than a list entry.</summary>
    public bool SingleGateway { get; init; }
}

/// <summary>
/// DataplaneNode spec.masquerade: pod traffic leaving through a node interface to anything outside
/// <see cref="NonMasqueradeCidrs"/> and every node's pod CIDRs is SNATed to that interface's address
/// (Cilium's enable-ipv4-masquerade with ipv4-native-routing-cidr / ip-masq-agent nonMasqueradeCIDRs).
/// </summary>
public sealed record MasqueradeSpec(bool Enabled, ImmutableArray<IPNetwork> NonMasqueradeCidrs, ushort PortMin, ushort PortMax)
{
    /// <summary>Cilium's NAT port range for masquerading (NODEPORT_PORT_MIN_NAT..NODEPORT_PORT_MAX_NAT).</summary>
    public static MasqueradeSpec Disabled { get; } = new(false, [], 32768, 65535);
}

/// <summary>DataplaneNode spec.loadBalancing: the default algorithm (Cilium's bpf-lb-algorithm, default random)
/// and the Maglev table size (bpf-lb-maglev-table-size, a prime; default 16381).</summary>
public sealed record LoadBalancingSpec(LbAlgorithm Algorithm, int MaglevTableSize)
{
    public static LoadBalancingSpec Default { get; } = new(LbAlgorithm.Random, Core.Services.Maglev.DefaultSize);
}

public enum IpFamilyPolicy : byte { SingleStack, PreferDualStack, RequireDualStack }

/// <summary>What a service without cluster IPs asks for: its ipFamilyPolicy and ipFamilies (empty = the cluster's order).</summary>
public sealed record ClusterIpRequest(IpFamilyPolicy Policy, ImmutableArray<System.Net.Sockets.AddressFamily> Families, SourceLocation Source);
