using System.Collections.Immutable;

namespace Dataplane.Control.Config;

/// <summary>
/// Our <c>dataplane.io/v1alpha1 DataplaneNode</c>: which node this is, the gateway MAC its pods see, the
/// interfaces it attaches to, and static neighbours and routes. Everything that can be checked inside the
/// document is checked here; rules that involve other objects live in <see cref="ModelValidator"/>.
/// </summary>
internal static class DataplaneNodeParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.TryGet("spec", out var s) ? s : (YNode?)null;
        spec?.AllowOnly("routerMac", "interfaces", "neighbors", "routes", "policyEnforcement", "hostPolicyAuditMode", "masquerade", "loadBalancing", "overlay", "encryption");

        var macs = new MacRegistry();
        var routerMac = MacAddress.Derive("router/" + doc.Name);
        var routerMacAt = doc.Source;
        if (spec is { } sp && sp.TryGet("routerMac", out var rm))
        {
            routerMac = rm.Mac();
            routerMacAt = rm.At;
        }
        macs.Add(routerMac, routerMacAt, "the router MAC");

        var interfaces = ImmutableArray<InterfaceSpec>.Empty;
        var neighbors = ImmutableArray<NeighborSpec>.Empty;
        var routes = ImmutableArray<RouteSpec>.Empty;
        if (spec is { } sp2)
        {
            // Neighbours refer to interfaces and routes to both, so read in that order whatever the YAML order.
            if (sp2.TryGet("interfaces", out var ifs))
                interfaces = InterfaceParser.ParseAll(ifs, macs);
            if (sp2.TryGet("neighbors", out var ns))
                neighbors = NeighborParser.ParseAll(ns, interfaces);
            if (sp2.TryGet("routes", out var rs))
                routes = RouteParser.ParseAll(rs, interfaces);
        }

        var enforcement = PolicyEnforcement.Default;
        if (spec is { } sp3 && sp3.TryGet("policyEnforcement", out var pe))
        {
            enforcement = pe.String() switch
            {
                "default" => PolicyEnforcement.Default,
                "always" => PolicyEnforcement.Always,
                "never" => PolicyEnforcement.Never,
                var x => throw pe.Error($"must be default, always or never, got '{x}'"),
            };
        }

        OverlaySpec? overlay = spec is { } sp6 && sp6.TryGet("overlay", out var ov) ? OverlayParser.Parse(ov, interfaces) : null;
        var local = new LocalNodeSpec(doc.Name, routerMac, interfaces, neighbors, routes, doc.Source, enforcement, overlay)
        {
            Masquerade = spec is { } sp4 && sp4.TryGet("masquerade", out var mq) ? NatConfigParser.Masquerade(mq) : MasqueradeSpec.Disabled,
            Encryption = spec is { } sp8 && sp8.TryGet("encryption", out var enc) ? EncryptionSpec.Parse(enc) : EncryptionSpec.Disabled,
            LoadBalancing = spec is { } sp5 && sp5.TryGet("loadBalancing", out var lb) ? NatConfigParser.LoadBalancing(lb) : LoadBalancingSpec.Default,
            HostPolicyAuditMode = spec is { } sp7 && sp7.TryGet("hostPolicyAuditMode", out var am) && am.String() switch
            {
                "true" => true,
                "false" => false,
                var x => throw am.Error($"expected true or false, got '{x}'"),
            },
        };
        into.LocalNodes.Add(new ParsedLocalNode(local, doc.NameNode.At, macs.Entries));
    }
}
