using System.Collections.Immutable;
using System.Net;
using Dataplane.Control.Config;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Rewrites the peers of every policy that name other objects into the CIDR peers they stand for, before
/// identities are numbered: a CIDR set entry with cidrGroupRef / cidrGroupSelector becomes the prefixes of the
/// CiliumCIDRGroups it names (each keeping the exceptions that lie inside it, as Cilium applies them). A group
/// that does not exist selects nothing, as in Cilium, where it may be created later. A toServices entry becomes
/// the endpoint addresses (host prefixes) of the Services it names, as Cilium's policy watcher translates it into
/// generated toCIDRSet entries — only Services without a selector are selectable (isSelectableService), so the
/// addresses are never pods'. A toFQDNs entry becomes the addresses (host prefixes) the node's DNS proxy learned for
/// the names its selectors match (<see cref="ConfigModel.FqdnIps"/>), each a CIDR identity as Cilium gives them
/// (<c>cidr:</c> labels); with none learned yet it selects nothing. An address that is a pod's keeps the pod's
/// identity (the ipcache's more specific owner), so toFQDNs never opens a pod, as in Cilium.
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

    private static bool NeedsExpansion(PeerRule peer) => !peer.CidrGroups.IsEmpty || !peer.Services.IsEmpty || !peer.Fqdns.IsEmpty;

    private static ImmutableArray<PeerRule> Expand(ImmutableArray<PeerRule> peers, ConfigModel model) =>
        [.. peers.Select(peer => NeedsExpansion(peer)
            ? peer with
            {
                Cidrs = peer.Cidrs.AddRange(GroupCidrs(peer.CidrGroups, model)).AddRange(ServiceCidrs(peer.Services, model))
                    .AddRange(FqdnCidrs(peer.Fqdns, model)),
            }
            : peer)];

    private static IEnumerable<CidrPeer> FqdnCidrs(ImmutableArray<Core.L7.DnsPattern> selectors, ConfigModel model)
    {
        if (selectors.IsEmpty) yield break;
        var seen = new HashSet<IPAddress>();
        foreach (var learned in model.FqdnIps)
        {
            bool selected = false;
            foreach (var s in selectors)
                if (s.Matches(learned.Name)) { selected = true; break; }
            if (selected && seen.Add(learned.Address))
                yield return new CidrPeer(HostPrefix(learned.Address), []);
        }
    }

    private static IPNetwork HostPrefix(IPAddress a) =>
        new(a, a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);

    private static IEnumerable<CidrPeer> ServiceCidrs(ImmutableArray<ServiceRef> refs, ConfigModel model)
    {
        var seen = new HashSet<IPAddress>();
        foreach (var svc in model.Services)
        {
            if (svc.Selector != null) continue;
            bool selected = false;
            foreach (var r in refs)
            {
                if (r.Namespace.Length > 0 && r.Namespace != svc.Namespace) continue;
                if (r.Name != null ? r.Name == svc.Name : r.Selector!.Matches(ServiceLabels(svc))) { selected = true; break; }
            }
            if (!selected) continue;
            foreach (var slice in model.EndpointSlices)
                if (slice.Namespace == svc.Namespace && slice.ServiceName == svc.Name)
                    foreach (var e in slice.Endpoints)
                        foreach (var a in e.Addresses)
                            if (seen.Add(a))
                                yield return new CidrPeer(HostPrefix(a), []);
        }
    }

    private static Core.Identity.LabelSet ServiceLabels(ServiceSpec svc) =>
        new(svc.Labels.Select(kv => new Core.Identity.Label(Core.Identity.Label.SourceK8s, kv.Key, kv.Value)));

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
