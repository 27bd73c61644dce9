namespace Dataplane.Core.Policy;

/// <summary>
/// The node's host endpoint (reserved:host, identity 1) as a policy subject: the host firewall. Its ingress and
/// egress maps live in slot <see cref="PolicySlot"/> of <see cref="PolicyState.Ingress"/>/<see cref="PolicyState.Egress"/>
/// — the slot no pod ever has — and under endpoint <see cref="PolicySlot"/> in the eBPF policy map
/// (HOST_POLICY_SLOT in bpf/dp_consts.h, pinned by ConstantsTests), so both datapaths find them the same way.
/// </summary>
public static class HostEndpoint
{
    public const uint PolicySlot = 0;
}
