using Dataplane.Core.EgressGateway;
using Dataplane.Core.Nat;

namespace Dataplane.Core.Services;

/// <summary>
/// Everything load balancing and NAT read, compiled once per snapshot and never mutated: the frontend table, the
/// backend sets (index 0 is the empty set) and per-service-port info, plus masquerade and egress gateway state.
/// Mutable state (connections, affinity) lives with the worker.
/// </summary>
public sealed class ServiceState(FrontendTable frontends, BackendSet[] sets, ServiceInfo[] services,
    MasqueradeState masquerade, EgressGatewayState egressGateway)
{
    public static ServiceState Empty { get; } = new(FrontendTable.Empty, [BackendSet.Empty], [], MasqueradeState.Disabled, EgressGatewayState.Empty);

    public FrontendTable Frontends { get; } = frontends;
    public BackendSet[] Sets { get; } = sets;
    public ServiceInfo[] Services { get; } = services;
    public MasqueradeState Masquerade { get; } = masquerade;
    public EgressGatewayState EgressGateway { get; } = egressGateway;
}
