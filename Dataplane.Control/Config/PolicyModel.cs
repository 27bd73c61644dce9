using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Policy;
using Dataplane.Control.Config;

namespace Dataplane.Control.Config;

/// <summary>A CIDR peer with its exceptions (fromCIDR is a CIDR set without exceptions).</summary>
public sealed record CidrPeer(IPNetwork Prefix, ImmutableArray<IPNetwork> Except);

/// <summary>
/// A CIDR set entry naming CiliumCIDRGroups — by name (cidrGroupRef) or by their labels (cidrGroupSelector) — with
/// exceptions; the compiler expands it to the groups' prefixes (an exception applies to the prefixes holding it).
/// </summary>
/// <summary>
/// A toServices entry: a Service by name (k8sService) or by its labels (k8sServiceSelector); an empty namespace
/// matches services of every namespace, as Cilium's serviceRefMatches does.
/// </summary>
public sealed record ServiceRef(string? Name, string Namespace, EndpointSelector? Selector);

public sealed record CidrGroupRef(string? Name, EndpointSelector? Selector, ImmutableArray<IPNetwork> Except);

/// <summary>
/// One port match: IP protocol (0 = the L3-only wildcard) and an inclusive port range; for ICMP/ICMPv6 the
/// "port" is the ICMP type, as in Cilium's policy map key. A named port ("http") has <see cref="Name"/> set and
/// no range: the compiler resolves it from pods' container ports (ingress: the selected pod's own; egress: every
/// pod's, as Cilium's named-port multimap does).
/// </summary>
public readonly record struct PortProto(byte Protocol, ushort Low, ushort High, string? Name = null)
{
    /// <summary>The toPorts entry's <c>rules.http</c> (null: none): connections allowed here go through the node's L7 proxy.</summary>
    public Dataplane.Core.L7.HttpPolicy? Http { get; init; }

    /// <summary>The toPorts entry's <c>rules.dns</c> (null: none): lookups allowed here go through the node's DNS proxy.</summary>
    public Dataplane.Core.L7.DnsPolicy? Dns { get; init; }

    /// <summary>The entry's L7 rules of either kind (null: L3/L4 only).</summary>
    public object? L7 => (object?)Http ?? Dns;

    public static PortProto Any => new(0, 0, ushort.MaxValue);
}

/// <summary>
/// One element of ingress/egress/ingressDeny/egressDeny. The L3 peers (endpoints, entities, CIDRs) are ORed;
/// when none is given and ports are, the rule is L4-only (any peer). <see cref="AllPeers"/> is the explicit
/// wildcard (NetworkPolicy's empty from/to). A rule with no peer and no port allows nothing.
/// </summary>
public sealed record PeerRule(
    ImmutableArray<EndpointSelector> Endpoints,
    ImmutableArray<string> Entities,
    ImmutableArray<CidrPeer> Cidrs,
    ImmutableArray<EndpointSelector> Requires,
    ImmutableArray<PortProto> Ports,
    bool AllPeers,
    bool HasL3,
    SourceLocation Source)
{
    public bool HasPorts => !Ports.IsEmpty;

    /// <summary>fromNodes/toNodes: selectors over Node labels (source <c>node</c>), matched against node identities.</summary>
    public ImmutableArray<EndpointSelector> Nodes { get; init; } = [];

    /// <summary>toServices entries, expanded by the compiler to their services' endpoint addresses.</summary>
    public ImmutableArray<ServiceRef> Services { get; init; } = [];

    /// <summary>toFQDNs selectors, expanded by the compiler to the addresses the node's DNS proxy learned for the names they select.</summary>
    public ImmutableArray<Dataplane.Core.L7.DnsPattern> Fqdns { get; init; } = [];

    /// <summary>CIDR set entries that name CiliumCIDRGroups, expanded by the compiler.</summary>
    public ImmutableArray<CidrGroupRef> CidrGroups { get; init; } = [];
}

/// <summary>
/// One Cilium rule (a CNP's spec or one of its specs, or a NetworkPolicy translated to the same shape).
/// <see cref="Subject"/> is already namespace-scoped for namespaced policies. A null default-deny flag means
/// "the rule turns on enforcement for each direction it has rules for" (Cilium's default).
/// </summary>
public sealed record PolicyRuleSpec(
    EndpointSelector Subject,
    bool SelectsNodes,
    ImmutableArray<PeerRule> Ingress,
    ImmutableArray<PeerRule> Egress,
    ImmutableArray<PeerRule> IngressDeny,
    ImmutableArray<PeerRule> EgressDeny,
    bool? DefaultDenyIngress,
    bool? DefaultDenyEgress,
    bool HasIngressSection,
    bool HasEgressSection,
    SourceLocation Source);

/// <summary>A parsed policy object.</summary>
public sealed record PolicySpec(PolicyKind Kind, string Name, string Namespace, ImmutableArray<PolicyRuleSpec> Rules,
    SourceLocation Source);
