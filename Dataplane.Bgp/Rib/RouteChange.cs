using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Rib;

/// <summary>
/// The selected paths for a prefix changed. <see cref="Best"/> is the ECMP set, best first; empty when the
/// prefix is no longer reachable (withdrawn by every peer).
/// </summary>
public sealed record RouteChange(BgpPrefix Prefix, IReadOnlyList<LearnedRoute> Best)
{
    public bool IsWithdrawal => Best.Count == 0;
}
