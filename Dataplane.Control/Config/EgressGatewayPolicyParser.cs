using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Identity;
using Dataplane.Core.Policy;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>cilium.io/v2 CiliumEgressGatewayPolicy</c> (cluster-scoped): selectors (podSelector + namespaceSelector),
/// destinationCIDRs, excludedCIDRs and egressGateway {nodeSelector, egressIP | interface}. Beyond OSS Cilium,
/// <c>egressGateways:</c> lists several gateway groups (like Isovalent's egressGroups); traffic is spread over
/// every live gateway node by flow hash.
/// </summary>
internal static class EgressGatewayPolicyParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        spec.AllowOnly("selectors", "destinationCIDRs", "excludedCIDRs", "egressGateway", "egressGateways");

        var selectors = ImmutableArray.CreateBuilder<EgressSourceSelector>();
        var selList = spec.Get("selectors");
        foreach (var s in selList.Items())
        {
            s.AllowOnly("podSelector", "namespaceSelector");
            bool hasPod = s.TryGet("podSelector", out var pod), hasNs = s.TryGet("namespaceSelector", out var nsSel);
            if (!hasPod && !hasNs) throw s.Error("a selector needs podSelector and/or namespaceSelector");
            var sel = hasPod ? PolicyParser.ParseSelector(pod) : EndpointSelector.All;
            if (hasNs)
                sel = sel.With(PolicyParser.ParseSelector(nsSel, IdentityLabels.NamespaceLabelPrefix));
            selectors.Add(new EgressSourceSelector(sel));
        }
        if (selectors.Count == 0) throw selList.Error("at least one selector is required");

        var dst = Cidrs(spec, "destinationCIDRs", required: true);
        var excluded = Cidrs(spec, "excludedCIDRs", required: false);
        foreach (var ex in excluded)
            if (!dst.Any(d => IpText.Overlaps(d, ex)))
                throw spec.Get("excludedCIDRs").Error($"excluded CIDR {ex} is inside none of the destinationCIDRs");

        var gateways = ImmutableArray.CreateBuilder<EgressGatewaySpec>();
        if (spec.TryGet("egressGateway", out var gw)) gateways.Add(Gateway(gw));
        if (spec.TryGet("egressGateways", out var gws))
            foreach (var g in gws.Items()) gateways.Add(Gateway(g));
        if (gateways.Count == 0) throw spec.Error("needs egressGateway (or egressGateways)");

        into.EgressPolicies.Add(new EgressGatewayPolicySpec(doc.Name, selectors.ToImmutable(), dst, excluded,
            gateways.ToImmutable(), doc.Source) { SingleGateway = spec.TryGet("egressGateway", out _) });
    }

    private static EgressGatewaySpec Gateway(YNode g)
    {
        g.AllowOnly("nodeSelector", "egressIP", "interface");
        var nodes = PolicyParser.ParseSelector(g.Get("nodeSelector"));
        IPAddress? ip = g.TryGet("egressIP", out var ipNode) ? ipNode.Ip() : null;
        var itf = g.OptString("interface");
        if (ip != null && itf != null) throw g.Error("egressIP and interface are mutually exclusive");
        return new EgressGatewaySpec(nodes, ip, itf, g.At);
    }

    private static ImmutableArray<IPNetwork> Cidrs(YNode spec, string key, bool required)
    {
        var b = ImmutableArray.CreateBuilder<IPNetwork>();
        if (spec.TryGet(key, out var list))
            foreach (var c in list.Items()) b.Add(c.Cidr());
        else if (required) throw spec.Error($"missing required field '{key}'");
        if (required && b.Count == 0) throw spec.Get(key).Error("at least one CIDR is required");
        return b.ToImmutable();
    }
}
