using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;

namespace Dataplane.Control.Config;

/// <summary>
/// Cilium's SRv6 kinds (<c>cilium.io/v2alpha1</c>): <c>CiliumSRv6VRF</c> (vrfID, rules of pod selectors and
/// destination CIDRs; route targets and locator pool are BGP's business and accepted as written) and
/// <c>CiliumSRv6EgressPolicy</c> (vrfID, destinationCIDRs, destinationSID).
/// </summary>
internal static class Srv6PolicyParser
{
    public static void ParseVrf(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("vrfID", "importRouteTarget", "exportRouteTarget", "locatorPoolRef", "rules");
        uint vrf = (uint)spec.Get("vrfID").Int(0, int.MaxValue);
        var rules = ImmutableArray.CreateBuilder<Srv6VrfRule>();
        if (spec.TryGet("rules", out var rs))
            foreach (var r in rs.Items())
            {
                r.AllowOnly("selectors", "destinationCIDRs");
                var selectors = ImmutableArray.CreateBuilder<EndpointSelector>();
                foreach (var s in r.Get("selectors").Items())
                {
                    s.AllowOnly("endpointSelector", "podSelector", "namespaceSelector");
                    var sel = s.TryGet("endpointSelector", out var es) ? PolicyParser.ParseSelector(es)
                        : s.TryGet("podSelector", out var ps) ? PolicyParser.ParseSelector(ps)
                        : EndpointSelector.All;
                    selectors.Add(sel);
                }
                rules.Add(new Srv6VrfRule(selectors.ToImmutable(), Cidrs(r.Get("destinationCIDRs")).Cidrs));
            }
        into.Srv6Vrfs.Add(new Srv6VrfSpec(doc.Name, vrf, rules.ToImmutable(), doc.Source));
    }

    public static void ParseEgressPolicy(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("vrfID", "destinationCIDRs", "destinationSID");
        var vrfNode = spec.Get("vrfID");
        uint vrf = (uint)vrfNode.Int(0, int.MaxValue);
        var (cidrs, at) = Cidrs(spec.Get("destinationCIDRs"));
        if (cidrs.IsEmpty) throw spec.Get("destinationCIDRs").Error("must list at least one CIDR");
        var sidNode = spec.Get("destinationSID");
        var sid = sidNode.Ip();
        if (sid.AddressFamily != AddressFamily.InterNetworkV6) throw sidNode.Error($"{sid} is not an IPv6 address (SIDs are IPv6)");
        into.Srv6EgressPolicies.Add(new Srv6EgressPolicySpec(doc.Name, vrf, cidrs, sid, doc.Source, vrfNode.At, at));
    }

    private static (ImmutableArray<IPNetwork> Cidrs, ImmutableArray<SourceLocation> At) Cidrs(YNode list)
    {
        var cidrs = ImmutableArray.CreateBuilder<IPNetwork>();
        var at = ImmutableArray.CreateBuilder<SourceLocation>();
        foreach (var c in list.Items()) { cidrs.Add(c.Cidr()); at.Add(c.At); }
        return (cidrs.ToImmutable(), at.ToImmutable());
    }
}
