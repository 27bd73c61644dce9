using System.Runtime.CompilerServices;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;

namespace Dataplane.Core.Policy;

/// <summary>
/// Policy audit mode (Cilium's PolicyAuditMode, here for the host endpoint): a packet the endpoint's policy would
/// drop passes, carrying the drop reason it would have had (133 or 181) and the direction of the policy that would
/// have dropped it, with a verdict that is not a drop. Flows show it as verdict AUDIT, the counters count it as
/// audited; the eBPF program marks it the same way (bpf/policy.h).
/// </summary>
public static class PolicyAudit
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsAudited(PacketVerdict verdict, DropReason reason) =>
        verdict != PacketVerdict.Drop && reason is DropReason.PolicyDenied or DropReason.PolicyDeny;

    /// <summary>Lets the packet through, recording what policy would have done.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Record(ref PacketMeta p, PolicyVerdict wouldBe, TrafficDirection direction)
    {
        p.DropReason = wouldBe == PolicyVerdict.Denied ? DropReason.PolicyDeny : DropReason.PolicyDenied;
        p.Direction = direction;
    }
}
