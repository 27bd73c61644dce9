using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Identity;
using Dataplane.Core.Policy;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>networking.k8s.io/v1 NetworkPolicy</c>, translated the way Cilium translates it (pkg/k8s
/// network_policy.go): podSelector → endpoint selector in the policy's namespace; each from/to peer →
/// endpoint selector (podSelector, namespaceSelector over the namespace labels) or CIDR set (ipBlock);
/// an empty from/to → every peer; ports default to TCP; policyTypes decide which directions are enforced
/// (Ingress always unless listed otherwise; Egress when listed or when an egress section exists).
/// </summary>
internal static class NetworkPolicyParser
{
    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        var ns = doc.Namespace;
        var subject = PolicyParser.ParseSelector(spec.Get("podSelector")).InNamespace(ns);

        bool ingressType = true, egressType = spec.TryGet("egress", out _);
        if (spec.TryGet("policyTypes", out var types))
        {
            ingressType = egressType = false;
            foreach (var t in types.Items())
            {
                switch (t.String())
                {
                    case "Ingress": ingressType = true; break;
                    case "Egress": egressType = true; break;
                    default: throw t.Error($"policy type must be Ingress or Egress, got '{t.String()}'");
                }
            }
        }

        var ingress = ImmutableArray.CreateBuilder<PeerRule>();
        var egress = ImmutableArray.CreateBuilder<PeerRule>();
        if (spec.TryGet("ingress", out var ing))
            foreach (var r in ing.Items()) ingress.Add(ParseRule(r, "from", ns));
        if (spec.TryGet("egress", out var eg))
            foreach (var r in eg.Items()) egress.Add(ParseRule(r, "to", ns));

        var rule = new PolicyRuleSpec(subject, false,
            ingressType ? ingress.ToImmutable() : [], egressType ? egress.ToImmutable() : [], [], [],
            ingressType, egressType, ingressType, egressType, spec.At);
        into.Policies.Add(new PolicySpec(PolicyKind.NetworkPolicy, doc.Name, ns, [rule], doc.Source));
    }

    private static PeerRule ParseRule(YNode r, string peersKey, string ns)
    {
        r.AllowOnly(peersKey, "ports");
        var endpoints = ImmutableArray.CreateBuilder<EndpointSelector>();
        var cidrs = ImmutableArray.CreateBuilder<CidrPeer>();
        bool all = true;
        if (r.TryGet(peersKey, out var peers))
        {
            foreach (var p in peers.Items())
            {
                all = false;
                p.AllowOnly("podSelector", "namespaceSelector", "ipBlock");
                bool hasPod = p.TryGet("podSelector", out var pod);
                bool hasNs = p.TryGet("namespaceSelector", out var nsSel);
                bool hasIp = p.TryGet("ipBlock", out var ip);
                if (hasIp && (hasPod || hasNs))
                    throw p.Error("ipBlock cannot be combined with podSelector or namespaceSelector");
                if (hasIp)
                {
                    ip.AllowOnly("cidr", "except");
                    var prefix = ip.Get("cidr").Cidr();
                    var except = ImmutableArray.CreateBuilder<IPNetwork>();
                    if (ip.TryGet("except", out var ex))
                        foreach (var e in ex.Items()) except.Add(e.Cidr());
                    cidrs.Add(new CidrPeer(prefix, except.ToImmutable()));
                    continue;
                }
                if (!hasPod && !hasNs) throw p.Error("a peer needs podSelector, namespaceSelector or ipBlock");
                var sel = hasPod ? PolicyParser.ParseSelector(pod) : EndpointSelector.All;
                if (hasNs)
                {
                    var nsSelector = PolicyParser.ParseSelector(nsSel, IdentityLabels.NamespaceLabelPrefix);
                    // Every pod has a namespace: the empty namespace selector means "any namespace".
                    sel = sel.With(nsSelector).With(new SelectorRequirement(Label.SourceK8s, IdentityLabels.NamespaceLabel, SelectorOp.Exists, []));
                }
                else sel = sel.InNamespace(ns);
                endpoints.Add(sel);
            }
        }

        var ports = ImmutableArray.CreateBuilder<PortProto>();
        if (r.TryGet("ports", out var pl))
        {
            foreach (var port in pl.Items())
            {
                port.AllowOnly("port", "endPort", "protocol");
                var proto = port.OptString("protocol") ?? "TCP";
                if (proto is not ("TCP" or "UDP" or "SCTP"))
                    throw port.Get("protocol").Error($"protocol must be TCP, UDP or SCTP, got '{proto}'");
                var list = ImmutableArray.CreateBuilder<PortProto>();
                PortReader.Read(port, proto, list);
                ports.AddRange(list);
            }
        }
        return new PeerRule(endpoints.ToImmutable(), [], cidrs.ToImmutable(), [], ports.ToImmutable(),
            AllPeers: all, HasL3: !all, r.At);
    }
}
