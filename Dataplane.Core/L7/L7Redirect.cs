using System.Runtime.CompilerServices;
using Dataplane.Core.Nat;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Policy;
using Dataplane.Core.Services;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.L7;

/// <summary>
/// The datapath's half of L7 policy (Cilium's policy redirect in bpf_lxc): a new TCP connection that policy allowed
/// through an entry carrying L7 rules — on the source's egress side, the destination's ingress side, or both — is
/// DNATed to the node's proxy and sent to the proxy's port instead of its destination. The conntrack commit records
/// the translation like a service's (keyed by the original tuple; replies from the proxy get the original destination
/// back as their source), and <see cref="ProxyRedirects"/> records, for the proxy, where the connection was going,
/// who opened it and which rules apply. Connections the proxy itself opens onward are never redirected again: they
/// are judged by identity policy with the client's identity (<see cref="FromProxy"/>). A TCP connection to a Service
/// frontend an HTTPRoute is attached to (<see cref="ProxyTarget.Frontends"/>) is redirected the same way, policy
/// rules or not: the proxy picks its backend per request.
/// </summary>
public static unsafe class L7Redirect
{
    /// <summary>Whether the allowed new connection <paramref name="p"/> goes to the proxy; if so, redirects it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Apply(ref PacketMeta p, ref NatIntent intent, ProxyTarget proxy, ProxyRedirects tables, PolicyRuleRef?[] rules)
    {
        if (p.IpVersion != 4 || p.Verdict != PacketVerdict.Tx || p.InPort == proxy.Hop.Port) return;
        // HTTP rules: TCP to the HTTP proxy; DNS rules: UDP lookups to the DNS proxy.
        bool dns = p.L4Proto == IpProtocols.Udp;
        if (!dns && p.L4Proto != IpProtocols.Tcp) return;
        uint egress = HasL7(rules, p.PolicyRule, dns) ? p.PolicyRule : 0;
        uint ingress = HasL7(rules, p.IngressPolicyRule, dns) ? p.IngressPolicyRule : 0;
        ushort route = dns || !intent.Dnat ? (ushort)0 : RouteOf(proxy.Frontends, (uint)intent.OrigAddr, intent.OrigPort);
        if (egress == 0 && ingress == 0 && route == 0) return;
        ushort port = dns ? proxy.DnsPort : proxy.ListenPort;
        if (port == 0) return;
        UInt128 dst = Addr.Dst(p);
        tables.Record(Addr.Src(p), p.SrcPort, new RedirectInfo(dst, p.DstPort, p.IpVersion, p.SrcIdentity, p.DstIdentity,
            p.SrcEndpoint, p.DstEndpoint, egress, ingress, route));
        // A service's DNAT stays the connection's original tuple (replies come back from the VIP); otherwise the
        // destination itself is.
        if (!intent.Dnat)
        {
            intent.Dnat = true;
            intent.OrigAddr = dst;
            intent.OrigPort = p.DstPort;
        }
        intent.BackendAddr = proxy.Address;
        intent.BackendPort = port;
        intent.Snat = false;
        intent.Cluster = 0;
        NatRewrite.Destination(ref p, proxy.Address, port);
        // Delivered to the proxy's port as to a local pod (routing already decremented the TTL).
        p.Flags &= ~PacketFlags.TunnelEncap;
        p.DstCluster = 0;
        p.NeighborFamily = 0;
        Unsafe.WriteUnaligned(p.Data, proxy.Hop.EthWord0);
        Unsafe.WriteUnaligned(p.Data + 8, proxy.Hop.EthWord1);
        p.OutPort = proxy.Hop.Port;
        p.DstEndpoint = proxy.Endpoint;
    }

    /// <summary>The HTTPRoute (1-based) attached to the service frontend the connection was sent to, 0 when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort RouteOf(RouteFrontend[] frontends, uint address, ushort port)
    {
        for (int i = 0; i < frontends.Length; i++)
            if (frontends[i].Address == address && frontends[i].Port == port) return frontends[i].Route;
        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HasL7(PolicyRuleRef?[] rules, uint rule, bool dns) =>
        rule != 0 && rule < (uint)rules.Length && rules[rule] is { } r && (dns ? r.Dns is not null : r.Http is not null);

    /// <summary>
    /// A packet from the proxy's own port on a connection the proxy opened for a client: it carries the client's
    /// identity (Cilium marks the proxy's upstream socket with it) and is no endpoint's egress — the client's egress
    /// was judged when its connection was redirected — so the destination's ingress policy decides with that identity.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void FromProxy(ref PacketMeta p, ProxyTarget proxy, ProxyRedirects tables)
    {
        if (p.SrcEndpoint != proxy.Endpoint || p.L4Proto is not (IpProtocols.Tcp or IpProtocols.Udp)) return;
        uint identity = tables.Upstream(p.SrcPort);
        if (identity == 0) return;
        p.SrcIdentity = identity;
        p.SrcEndpoint = 0;
    }
}
