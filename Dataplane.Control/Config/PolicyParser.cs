using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using Dataplane.Core.Identity;
using Dataplane.Core.Parsing;
using Dataplane.Core.Policy;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>cilium.io/v2 CiliumNetworkPolicy</c> / <c>CiliumClusterwideNetworkPolicy</c> and
/// <c>networking.k8s.io/v1 NetworkPolicy</c> → <see cref="PolicySpec"/>. Policy fields are read strictly:
/// a field the dataplane does not enforce (L7 rules, toFQDNs, toServices …) is an error at its exact
/// position, never silently ignored, since ignoring part of a policy changes its verdicts.
/// </summary>
internal static class PolicyParser
{
    private const string NotSupported = "not supported yet";

    /// <summary>The "namespace" of peers that are left exactly as written (rules selecting reserved:init).</summary>
    private static readonly string Unscoped = new(['*']);

    public static void ParseCnp(ConfigDocument doc, ModelBuilder into) => ParseCilium(doc, into, PolicyKind.CiliumNetworkPolicy);

    public static void ParseCcnp(ConfigDocument doc, ModelBuilder into) => ParseCilium(doc, into, PolicyKind.CiliumClusterwideNetworkPolicy);

    private static void ParseCilium(ConfigDocument doc, ModelBuilder into, PolicyKind kind)
    {
        string? ns = kind == PolicyKind.CiliumNetworkPolicy ? doc.Namespace : null;
        var rules = ImmutableArray.CreateBuilder<PolicyRuleSpec>();
        bool any = false;
        if (doc.Root.TryGet("spec", out var spec)) { rules.Add(ParseRule(spec, ns)); any = true; }
        if (doc.Root.TryGet("specs", out var specs))
        {
            foreach (var s in specs.Items()) rules.Add(ParseRule(s, ns));
            any = true;
        }
        if (!any) throw new ConfigException(doc.Source, $"{doc.Kind.Kind} {doc.QualifiedName}: needs spec or specs");
        into.Policies.Add(new PolicySpec(kind, doc.Name, ns ?? "", rules.ToImmutable(), doc.Source));
    }

    private static PolicyRuleSpec ParseRule(YNode r, string? ns)
    {
        r.AllowOnly("endpointSelector", "nodeSelector", "ingress", "egress", "ingressDeny", "egressDeny",
            "enableDefaultDeny", "description", "labels", "log");
        bool hasEp = r.TryGet("endpointSelector", out var epNode);
        bool hasNode = r.TryGet("nodeSelector", out var nodeNode);
        if (hasEp == hasNode)
            throw r.Error("exactly one of endpointSelector or nodeSelector is required");
        if (hasNode && ns != null)
            throw nodeNode.Error("nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy");
        // A nodeSelector rule is a host policy: its subject is this node's host endpoint when the selector matches
        // the Node's labels (the compiler decides), never a pod; an endpointSelector rule never selects the host.
        var subject = ParseSelector(hasEp ? epNode : nodeNode);
        // A rule for initializing endpoints (reserved:init) is special in Cilium's k8s translation: such
        // endpoints have no namespace label yet, so neither the subject nor the rule's peers are namespace-scoped.
        bool matchesInit = subject.Requirements.Any(q => q.Source == Label.SourceReserved && q.Key == "init");
        if (hasEp && ns != null) subject = subject.InNamespace(ns);
        var peerNs = matchesInit ? Unscoped : ns;

        bool? ddIngress = null, ddEgress = null;
        if (r.TryGet("enableDefaultDeny", out var dd))
        {
            dd.AllowOnly("ingress", "egress");
            if (dd.TryGet("ingress", out var i)) ddIngress = Bool(i);
            if (dd.TryGet("egress", out var e)) ddEgress = Bool(e);
        }

        var ingress = Section(r, "ingress", PolicyDirection.Ingress, deny: false, peerNs);
        var egress = Section(r, "egress", PolicyDirection.Egress, deny: false, peerNs);
        var ingressDeny = Section(r, "ingressDeny", PolicyDirection.Ingress, deny: true, peerNs);
        var egressDeny = Section(r, "egressDeny", PolicyDirection.Egress, deny: true, peerNs);
        return new PolicyRuleSpec(subject, hasNode, ingress.Rules, egress.Rules, ingressDeny.Rules, egressDeny.Rules,
            ddIngress, ddEgress, ingress.Present || ingressDeny.Present, egress.Present || egressDeny.Present, r.At);
    }

    private static (ImmutableArray<PeerRule> Rules, bool Present) Section(YNode r, string key, PolicyDirection dir, bool deny, string? ns)
    {
        if (!r.TryGet(key, out var list)) return ([], false);
        var b = ImmutableArray.CreateBuilder<PeerRule>();
        foreach (var item in list.Items()) b.Add(ParsePeerRule(item, dir, deny, ns));
        return (b.ToImmutable(), true);
    }

    private static PeerRule ParsePeerRule(YNode n, PolicyDirection dir, bool deny, string? ns)
    {
        string p = dir == PolicyDirection.Ingress ? "from" : "to";
        foreach (var (k, _) in n.Entries())
        {
            var name = k.String();
            if (name is "toGroups" or "fromGroups" or "authentication")
                throw k.Error($"'{name}' is {NotSupported}");
        }
        if (dir == PolicyDirection.Egress && !deny)
            n.AllowOnly("toEndpoints", "toRequires", "toEntities", "toCIDR", "toCIDRSet", "toNodes", "toServices", "toFQDNs", "toPorts", "icmps");
        else if (dir == PolicyDirection.Egress)
            n.AllowOnly("toEndpoints", "toRequires", "toEntities", "toCIDR", "toCIDRSet", "toNodes", "toServices", "toPorts", "icmps");
        else
            n.AllowOnly("fromEndpoints", "fromRequires", "fromEntities", "fromCIDR", "fromCIDRSet", "fromNodes", "toPorts", "icmps");
        var services = n.TryGet("toServices", out var svcList) ? ServiceRefs(svcList) : [];
        var fqdns = n.TryGet("toFQDNs", out var fqdnList) ? Fqdns(n, fqdnList) : [];

        var endpoints = ImmutableArray.CreateBuilder<EndpointSelector>();
        if (n.TryGet(p + "Endpoints", out var eps))
            foreach (var s in eps.Items()) endpoints.Add(ScopePeer(ParseSelector(s), ns));
        // Node selectors match Node labels (Cilium's node: source) and are never namespace-scoped.
        var nodes = ImmutableArray.CreateBuilder<EndpointSelector>();
        if (n.TryGet(p + "Nodes", out var nodeList))
            foreach (var s in nodeList.Items()) nodes.Add(ParseSelector(s));
        var requires = ImmutableArray.CreateBuilder<EndpointSelector>();
        if (n.TryGet(p + "Requires", out var reqs))
            foreach (var s in reqs.Items()) requires.Add(ScopePeer(ParseSelector(s), ns));
        var entities = ImmutableArray.CreateBuilder<string>();
        if (n.TryGet(p + "Entities", out var ents))
        {
            foreach (var e in ents.Items())
            {
                var name = e.String();
                if (!PolicyEntities.IsKnown(name))
                    throw e.Error($"unknown entity '{name}' (expected one of: {string.Join(", ", PolicyEntities.Names)})");
                entities.Add(name);
            }
        }
        var cidrs = ImmutableArray.CreateBuilder<CidrPeer>();
        if (n.TryGet(p + "CIDR", out var cl))
            foreach (var c in cl.Items()) cidrs.Add(new CidrPeer(PolicyCidr(c), []));
        var groups = ImmutableArray.CreateBuilder<CidrGroupRef>();
        if (n.TryGet(p + "CIDRSet", out var cs))
        {
            foreach (var set in cs.Items())
            {
                set.AllowOnly("cidr", "cidrGroupRef", "cidrGroupSelector", "except");
                int given = (set.TryGet("cidr", out _) ? 1 : 0) + (set.TryGet("cidrGroupRef", out _) ? 1 : 0)
                    + (set.TryGet("cidrGroupSelector", out _) ? 1 : 0);
                if (given != 1) throw set.Error("exactly one of cidr, cidrGroupRef or cidrGroupSelector is required");
                IPNetwork? prefix = set.TryGet("cidr", out var cidrNode) ? PolicyCidr(cidrNode) : null;
                var except = ImmutableArray.CreateBuilder<IPNetwork>();
                if (set.TryGet("except", out var ex))
                {
                    foreach (var e in ex.Items())
                    {
                        var x = PolicyCidr(e);
                        if (prefix is { } pr && (x.BaseAddress.AddressFamily != pr.BaseAddress.AddressFamily || !pr.Contains(x.BaseAddress) || x.PrefixLength < pr.PrefixLength))
                            throw e.Error($"except {x} is not inside {pr}");
                        except.Add(x);
                    }
                }
                if (prefix is { } cidr) cidrs.Add(new CidrPeer(cidr, except.ToImmutable()));
                else if (set.TryGet("cidrGroupRef", out var g)) groups.Add(new CidrGroupRef(g.String(), null, except.ToImmutable()));
                else groups.Add(new CidrGroupRef(null, ParseSelector(set.Get("cidrGroupSelector")), except.ToImmutable()));
            }
        }

        var ports = ImmutableArray.CreateBuilder<PortProto>();
        if (n.TryGet("toPorts", out var tp))
        {
            foreach (var pr in tp.Items())
            {
                foreach (var (k, _) in pr.Entries())
                {
                    var name = k.String();
                    if (name is "listener" or "terminatingTLS" or "originatingTLS" or "serverNames")
                        throw k.Error($"L7 '{name}' in toPorts is {NotSupported}");
                }
                pr.AllowOnly("ports", "rules");
                int first = ports.Count;
                if (pr.TryGet("ports", out var pl))
                    foreach (var port in pl.Items()) PortReader.Read(port, port.OptString("protocol") ?? "ANY", ports);
                else
                    ports.Add(PortProto.Any);
                // L7 rules apply to every port of their toPorts entry (the node's proxy enforces them).
                if (pr.TryGet("rules", out var l7))
                {
                    var (http, dns) = L7RuleParser.Parse(l7, deny);
                    for (int i = first; i < ports.Count; i++) ports[i] = ports[i] with { Http = http, Dns = dns };
                }
            }
        }
        if (n.TryGet("icmps", out var icmps))
        {
            foreach (var ic in icmps.Items())
            {
                ic.AllowOnly("fields");
                foreach (var f in ic.Get("fields").Items())
                {
                    f.AllowOnly("type", "family");
                    var family = f.OptString("family") ?? "IPv4";
                    byte proto = family switch
                    {
                        "IPv4" => IpProtocols.Icmp,
                        "IPv6" => IpProtocols.Icmpv6,
                        _ => throw f.Get("family").Error($"family must be IPv4 or IPv6, got '{family}'"),
                    };
                    var typeNode = f.Get("type");
                    ushort type = IcmpType(typeNode, proto);
                    ports.Add(new PortProto(proto, type, type));
                }
            }
        }

        if (deny && requires.Count > 0)
            throw reqs.Error($"{p}Requires is not allowed in deny rules");
        // As in Cilium (Go slices), an empty peer list is the same as no list: with toPorts the rule is L4-only.
        bool hasL3 = endpoints.Count > 0 || entities.Count > 0 || cidrs.Count > 0 || groups.Count > 0 || nodes.Count > 0
            || !services.IsEmpty || !fqdns.IsEmpty;
        return new PeerRule(endpoints.ToImmutable(), entities.ToImmutable(), cidrs.ToImmutable(), requires.ToImmutable(),
            ports.ToImmutable(), AllPeers: false, HasL3: hasL3, n.At)
        { CidrGroups = groups.ToImmutable(), Nodes = nodes.ToImmutable(), Services = services, Fqdns = fqdns };
    }

    /// <summary>
    /// toFQDNs: matchName / matchPattern selectors over the names the node's DNS proxy sees resolved. As Cilium's
    /// EgressRule.sanitize, toFQDNs cannot be combined with another L3 peer in the same rule (toPorts it can).
    /// </summary>
    private static ImmutableArray<Core.L7.DnsPattern> Fqdns(YNode rule, YNode list)
    {
        foreach (var other in new[] { "toEndpoints", "toEntities", "toCIDR", "toCIDRSet", "toNodes", "toServices", "toRequires" })
            if (rule.TryGet(other, out _))
                throw list.Error($"combining toFQDNs and {other} is not supported yet (as in Cilium)");
        var patterns = L7RuleParser.Patterns(list);
        if (patterns.IsEmpty) throw list.Error("toFQDNs needs at least one matchName or matchPattern");
        return patterns;
    }

    /// <summary>toServices: k8sService {serviceName, namespace} or k8sServiceSelector {selector, namespace}.</summary>
    private static ImmutableArray<ServiceRef> ServiceRefs(YNode list)
    {
        var refs = ImmutableArray.CreateBuilder<ServiceRef>();
        foreach (var item in list.Items())
        {
            item.AllowOnly("k8sService", "k8sServiceSelector");
            bool named = item.TryGet("k8sService", out var byName);
            if (named == item.TryGet("k8sServiceSelector", out var bySelector))
                throw item.Error("exactly one of k8sService or k8sServiceSelector is required");
            if (named)
            {
                byName.AllowOnly("serviceName", "namespace");
                refs.Add(new ServiceRef(byName.RequiredString("serviceName"), byName.OptString("namespace") ?? "", null));
            }
            else
            {
                bySelector.AllowOnly("selector", "namespace");
                refs.Add(new ServiceRef(null, bySelector.OptString("namespace") ?? "", ParseSelector(bySelector.Get("selector"))));
            }
        }
        return refs.ToImmutable();
    }

    /// <summary>
    /// Peer selectors of a namespaced policy select pods of the policy's namespace unless they name the
    /// namespace label. In a clusterwide policy the empty selector selects every pod of the cluster (but no
    /// reserved identity), as Cilium does since 1.14.
    /// </summary>
    private static EndpointSelector ScopePeer(EndpointSelector s, string? ns)
    {
        if (ReferenceEquals(ns, Unscoped)) return s;
        if (ns != null) return s.InNamespace(ns);
        return s.Requirements.IsEmpty
            ? s.With(new SelectorRequirement(Label.SourceK8s, IdentityLabels.NamespaceLabel, SelectorOp.Exists, []))
            : s;
    }

    private static ushort IcmpType(YNode n, byte proto)
    {
        var text = n.String();
        if (byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var t)) return t;
        int named = (proto == IpProtocols.Icmp, text) switch
        {
            (true, "EchoReply") => 0, (true, "DestinationUnreachable") => 3, (true, "Redirect") => 5,
            (true, "Echo" or "EchoRequest") => 8, (true, "TimeExceeded") => 11,
            (false, "DestinationUnreachable") => 1, (false, "PacketTooBig") => 2, (false, "TimeExceeded") => 3,
            (false, "EchoRequest") => 128, (false, "EchoReply") => 129,
            (false, "NeighborSolicitation") => 135, (false, "NeighborAdvertisement") => 136,
            _ => -1,
        };
        return named >= 0 ? (ushort)named : throw n.Error($"invalid ICMP type '{text}'");
    }

    /// <summary>A policy CIDR; a bare address means its host prefix, as Cilium accepts.</summary>
    private static IPNetwork PolicyCidr(YNode n)
    {
        var text = n.String();
        if (!text.Contains('/') && IpText.TryParseAddress(text, out var ip))
            return new IPNetwork(ip, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        return n.Cidr();
    }

    internal static bool Bool(YNode n) => n.String() switch
    {
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        var s => throw n.Error($"expected true or false, got '{s}'"),
    };

    /// <summary>matchLabels + matchExpressions.</summary>
    internal static EndpointSelector ParseSelector(YNode s, string keyPrefix = "")
    {
        s.AllowOnly("matchLabels", "matchExpressions");
        var reqs = ImmutableArray.CreateBuilder<SelectorRequirement>();
        if (s.TryGet("matchLabels", out var ml))
        {
            foreach (var (k, v) in ml.Entries())
            {
                var (src, key) = Label.SplitKey(k.String());
                reqs.Add(new SelectorRequirement(src, keyPrefix + key, SelectorOp.Equals, [v.IsNull ? "" : v.String()]));
            }
        }
        if (s.TryGet("matchExpressions", out var me))
        {
            foreach (var e in me.Items())
            {
                e.AllowOnly("key", "operator", "values");
                var (src, key) = Label.SplitKey(e.RequiredString("key"));
                var opNode = e.Get("operator");
                var op = opNode.String() switch
                {
                    "In" => SelectorOp.In, "NotIn" => SelectorOp.NotIn, "Exists" => SelectorOp.Exists,
                    "DoesNotExist" => SelectorOp.DoesNotExist,
                    var x => throw opNode.Error($"unknown operator '{x}' (expected In, NotIn, Exists or DoesNotExist)"),
                };
                var values = ImmutableArray.CreateBuilder<string>();
                if (e.TryGet("values", out var vs)) foreach (var v in vs.Items()) values.Add(v.String());
                if (op is SelectorOp.In or SelectorOp.NotIn && values.Count == 0)
                    throw e.Error($"operator {op} needs at least one value");
                if (op is SelectorOp.Exists or SelectorOp.DoesNotExist && values.Count > 0)
                    throw e.Get("values").Error($"operator {op} takes no values");
                reqs.Add(new SelectorRequirement(src, keyPrefix + key, op, values.ToImmutable()));
            }
        }
        return new EndpointSelector(reqs.ToImmutable());
    }
}
