using System.Collections.Immutable;
using System.Net;
using Dataplane.Control.Config;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Rewrites the peers of every policy that name other objects into the CIDR peers they stand for, before
/// identities are numbered: a CIDR set entry with cidrGroupRef / cidrGroupSelector becomes the prefixes of the
/// CiliumCIDRGroups it names (each keeping the exceptions that lie inside it, as Cilium applies them). A group
/// that does not exist selects nothing, as in Cilium, where it may be created later.
/// </summary>
internal static class PeerExpansion
{
    public static ConfigModel Apply(ConfigModel model)
    {
        bool any = model.Policies.Any(p => p.Rules.Any(r => AllPeers(r).Any(NeedsExpansion)));
        if (!any) return model;
        var policies = model.Policies.Select(p => p with
        {
            Rules = [.. p.Rules.Select(r => r with
            {
                Ingress = Expand(r.Ingress, model), Egress = Expand(r.Egress, model),
                IngressDeny = Expand(r.IngressDeny, model), EgressDeny = Expand(r.EgressDeny, model),
            })],
        });
        return model with { Policies = [.. policies] };
    }

    private static IEnumerable<PeerRule> AllPeers(PolicyRuleSpec r) => r.Ingress.Concat(r.Egress).Concat(r.IngressDeny).Concat(r.EgressDeny);

    private static bool NeedsExpansion(PeerRule peer) => !peer.CidrGroups.IsEmpty;

    private static ImmutableArray<PeerRule> Expand(ImmutableArray<PeerRule> peers, ConfigModel model) =>
        [.. peers.Select(peer => NeedsExpansion(peer) ? peer with { Cidrs = peer.Cidrs.AddRange(GroupCidrs(peer.CidrGroups, model)) } : peer)];

    private static IEnumerable<CidrPeer> GroupCidrs(ImmutableArray<CidrGroupRef> refs, ConfigModel model)
    {
        foreach (var r in refs)
        {
            foreach (var g in model.CidrGroups)
            {
                bool selected = r.Name != null ? g.Name == r.Name : r.Selector!.Matches(g.SelectorLabels());
                if (!selected) continue;
                foreach (var prefix in g.Cidrs)
                    yield return new CidrPeer(prefix, [.. r.Except.Where(x => Inside(x, prefix))]);
            }
        }
    }

    private static bool Inside(IPNetwork inner, IPNetwork outer) =>
        inner.BaseAddress.AddressFamily == outer.BaseAddress.AddressFamily && inner.PrefixLength >= outer.PrefixLength
        && outer.Contains(inner.BaseAddress);
}
