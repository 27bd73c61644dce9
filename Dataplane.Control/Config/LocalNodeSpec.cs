using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>A port the dataplane attaches to, with its addresses and MTU.</summary>
public sealed record InterfaceSpec(string Name, MacAddress Mac, ImmutableArray<IfAddress> Addresses, int Mtu,
    SourceLocation Source);

/// <summary>
/// A static neighbour entry: overrides ARP/ND for that address (like `ip neigh add … nud permanent`), never ages.
/// <see cref="Interface"/> is always resolved, either as written or inferred from the subnet.
/// </summary>
public sealed record NeighborSpec(IPAddress Ip, MacAddress Mac, string Interface, SourceLocation Source);

/// <summary>
/// A static route. After loading, <see cref="Interface"/> is filled in even when only <see cref="Via"/>
/// was written (the interface whose subnet contains the gateway), so the compiler never has to re-derive it.
/// </summary>
public sealed record RouteSpec(IPNetwork Destination, IPAddress? Via, string? Interface, SourceLocation Source);

/// <summary>What this node's dataplane owns: our <c>DataplaneNode</c> kind, exactly one per configuration.</summary>
public sealed record LocalNodeSpec(string Name, MacAddress RouterMac, ImmutableArray<InterfaceSpec> Interfaces,
    ImmutableArray<NeighborSpec> Neighbors, ImmutableArray<RouteSpec> Routes, SourceLocation Source,
    PolicyEnforcement PolicyEnforcement = PolicyEnforcement.Default, OverlaySpec? Overlay = null)
{
    /// <summary>SNAT of pod traffic leaving the node (off unless spec.masquerade is given).</summary>
    public MasqueradeSpec Masquerade { get; init; } = MasqueradeSpec.Disabled;

    /// <summary>Default service load-balancing algorithm and Maglev table size.</summary>
    public LoadBalancingSpec LoadBalancing { get; init; } = LoadBalancingSpec.Default;

    /// <summary>
    /// Cilium's PolicyAuditMode for the host endpoint (<c>spec.hostPolicyAuditMode</c>): what host policies would
    /// drop passes, with verdict AUDIT in the flows and counted as audited — to try host policies before enforcing.
    /// </summary>
    public bool HostPolicyAuditMode { get; init; }

    /// <summary>Transparent encryption between nodes (<c>spec.encryption</c>, Cilium's WireGuard mode); off unless given.</summary>
    public EncryptionSpec Encryption { get; init; } = EncryptionSpec.Disabled;
}

/// <summary>
/// Cilium's policy enforcement mode (<c>--enable-policy</c>): <c>default</c> enforces a direction once a
/// rule of that direction selects the endpoint; <c>always</c> enforces both directions on every endpoint
/// (nothing passes without an allow); <c>never</c> disables enforcement, deny rules included.
/// </summary>
public enum PolicyEnforcement : byte { Default, Always, Never }
