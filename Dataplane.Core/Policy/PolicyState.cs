using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;

namespace Dataplane.Core.Policy;

/// <summary>
/// The identity/policy part of a snapshot: identities, the ipcache and each local endpoint's ingress and
/// egress policy maps (indexed by endpoint id; slot 0 unused), plus the rule table flow records name.
/// </summary>
public sealed class PolicyState(IdentityTable identities, IpCacheMap ipCache, PolicyMap[] ingress, PolicyMap[] egress,
    PolicyRuleRef?[] rules, uint[]? endpointIdentities = null)
{
    /// <summary>Security identity of each local endpoint (indexed by endpoint id; slot 0 = 0).</summary>
    public uint[] EndpointIdentities { get; } = endpointIdentities ?? new uint[ingress.Length];
    public IdentityTable Identities { get; } = identities;
    public IpCacheMap IpCache { get; } = ipCache;
    public PolicyMap[] Ingress { get; } = ingress;
    public PolicyMap[] Egress { get; } = egress;
    /// <summary>Indexed by rule id; slot 0 is null ("no rule").</summary>
    public PolicyRuleRef?[] Rules { get; } = rules;
    /// <summary>Policy of the external workloads this host serves as their gateway, by identity.</summary>
    public WorkloadPolicies Workloads { get; init; } = WorkloadPolicies.Empty;
    /// <summary>
    /// Policy audit mode for the host endpoint (Cilium's PolicyAuditMode on it): a packet the host's own maps would
    /// drop passes instead, marked audited (<see cref="Pipeline.PolicyStage"/>).
    /// </summary>
    public bool HostAudit { get; init; }

    /// <summary>No identities beyond the reserved ones, every address world, nothing enforced.</summary>
    public static PolicyState Empty(int endpointSlots)
    {
        var unenforced = new PolicyMap[endpointSlots];
        Array.Fill(unenforced, PolicyMap.Unenforced);
        return new PolicyState(IdentityTable.Build([], [], dualStack: false),
            new IpCacheMap([], NumericIdentity.World, NumericIdentity.World), unenforced, (PolicyMap[])unenforced.Clone(), [null]);
    }
}
