using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Core.Overlay;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Compiles the overlay part of a validated config: every remote Node becomes a tunnel peer keyed by its
/// InternalIP (so any Tunnel next hop toward a node works, whoever made it); nodes in vxlan/srv6 mode (per peer,
/// from the Node's annotations, or the overlay default) get their pod CIDRs as Tunnel routes; bare-endpoint peers
/// and CiliumSRv6EgressPolicies add their own. Local SIDs, locators, our underlay addresses and the identities a VNI
/// may carry complete the <see cref="OverlayState"/>. A tunnel whose endpoint (VXLAN) or first SID (SRv6) no interface
/// route reaches is a config error; its underlay MAC is resolved by ARP/ND unless a static neighbour gives it.
/// </summary>
public static class OverlayCompiler
{
    /// <summary>How <paramref name="node"/>'s pod CIDRs are reached from this node.</summary>
    public static TunnelMode ModeOf(ConfigModel model, NodeSpec node)
    {
        var ov = model.Local.Overlay;
        var peer = ov?.Peers.FirstOrDefault(p => p.Node == node.Name);
        return peer?.Mode ?? node.Tunnel?.Mode ?? ov?.Mode ?? TunnelMode.Native;
    }

    public static OverlayState Compile(ConfigModel model, SnapshotBuilder b, Core.Policy.PolicyState policy)
    {
        var local = model.Local;
        var ov = local.Overlay ?? OverlaySpec.Default(local.Source);
        b.VxlanPort = ov.VxlanPort;
        var addresses = local.Interfaces.SelectMany(i => i.Addresses).Select(a => a.Address).ToList();
        // Peers know us by our Node's InternalIP (a VXLAN sender must be one): send from it when it is ours — a host
        // with several interfaces (a gateway's on-prem and mesh sides) would otherwise send from its first address.
        var internalIps = model.Nodes.FirstOrDefault(n => n.Name == local.Name)?.InternalIps ?? [];
        var source4 = ov.Source4 ?? internalIps.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && addresses.Contains(a))
            ?? addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
        var source6 = ov.Source6 ?? internalIps.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6 && addresses.Contains(a))
            ?? addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv6LinkLocal);
        ulong routerMac = local.RouterMac.Value;
        var peers = new List<TunnelPeer>();
        var keys = new HashSet<UInt128>();

        foreach (var node in model.Nodes.Where(n => n.Name != local.Name))
        {
            var spec = ov.Peers.FirstOrDefault(p => p.Node == node.Name);
            var mode = ModeOf(model, node);
            var routes = model.RoutedTo(node).AddRange(spec?.Prefixes ?? []);
            bool required = mode != TunnelMode.Native && !routes.IsEmpty;
            var endpoint = PickEndpoint(node.InternalIps, ov.UnderlayIpv6);
            if (endpoint is null)
            {
                if (required) throw new ConfigException(spec?.Source ?? node.Source, $"node {node.Name} has no InternalIP to tunnel to");
                continue;
            }
            // Every InternalIP of the node is a peer key (a sender we accept, an endpoint any Tunnel next hop may
            // name — egress-gateway steering, say); native nodes are VXLAN peers for that purpose when reachable.
            // Only the chosen endpoint must work; the node's pod CIDRs are routed toward it.
            TunnelPeer? primary = null;
            foreach (var ip in node.InternalIps.OrderBy(i => i.Equals(endpoint) ? 0 : 1))
            {
                bool must = required && ip.Equals(endpoint);
                TunnelPeer? built = mode == TunnelMode.Srv6
                    ? Srv6Peer(node.Name, ip, spec, node.Tunnel, source6, b, spec?.Source ?? node.Source, must)
                    : VxlanPeer(node.Name, ip, spec?.InnerMac ?? node.Tunnel?.VxlanMac ?? MacAddress.Derive("router/" + node.Name),
                        spec?.Vni ?? 0, ip.AddressFamily == AddressFamily.InterNetwork ? source4 : source6, ov.VxlanPort,
                        b, routerMac, spec?.Source ?? node.Source, must);
                if (built is not { } t || !keys.Add(t.Endpoint)) continue;
                peers.Add(t);
                if (ip.Equals(endpoint)) primary = t;
            }
            if (mode == TunnelMode.Native) continue;
            if (primary is not { } p)
                throw new ConfigException(spec?.Source ?? node.Source, $"node {node.Name}: InternalIP {endpoint} is also another tunnel peer's");
            var nh = TunnelPeerFactory.TunnelNextHop(endpoint, UnderlayOf(b, p));
            foreach (var cidr in routes) b.AddRoute(cidr, nh);
        }

        foreach (var spec in ov.Peers.Where(p => p.Endpoint is not null))
        {
            var endpoint = spec.Endpoint!;
            var name = endpoint.ToString();
            TunnelPeer t = spec.Mode == TunnelMode.Srv6
                ? Srv6Peer(name, endpoint, spec, null, source6, b, spec.Source, required: true)!.Value
                : VxlanPeer(name, endpoint, spec.InnerMac!.Value, spec.Vni,
                    endpoint.AddressFamily == AddressFamily.InterNetwork ? source4 : source6, ov.VxlanPort, b, routerMac,
                    spec.Source, required: true)!.Value;
            if (!keys.Add(t.Endpoint)) throw new ConfigException(spec.Source, $"overlay peer {endpoint} is also a Node's InternalIP");
            peers.Add(t);
            var nh = TunnelPeerFactory.TunnelNextHop(endpoint, UnderlayOf(b, t));
            foreach (var cidr in spec.Prefixes) b.AddRoute(cidr, nh);
        }

        foreach (var pol in model.Srv6EgressPolicies.IsDefault ? [] : model.Srv6EgressPolicies)
        {
            var sid = pol.DestinationSid;
            var key = TunnelPeerFactory.IndexKey(sid);
            if (keys.Add(key))
            {
                var via = Reach(b, sid, pol.Source, $"CiliumSRv6EgressPolicy {pol.Name}: SID {sid}");
                if (source6 is null) throw new ConfigException(pol.Source, $"CiliumSRv6EgressPolicy {pol.Name}: this node has no IPv6 address to encapsulate from");
                peers.Add(TunnelPeerFactory.Srv6(pol.Name, sid, source6, via, b.Ports[via.Port].Mtu, [sid], [sid], reduced: false));
            }
            var nh = TunnelPeerFactory.TunnelNextHop(sid, UnderlayOf(b, peers.First(p => p.Endpoint == key)));
            foreach (var cidr in pol.DestinationCidrs) b.AddRoute(cidr, nh);
        }

        var sids = ImmutableArray.CreateBuilder<LocalSid>();
        foreach (var s in ov.Sids)
        {
            var value = Core.Routing.RoutePrefix.ToUInt128(s.Sid);
            if (s.Behavior == Srv6Behavior.EndX)
            {
                // The adjacency's MAC is written into the SID entry: End.X needs a static neighbour.
                var adj = Reach(b, s.NextHop!, s.Source, $"End.X {s.Sid}: nexthop {s.NextHop}");
                if (adj.Kind != NextHopKind.Port)
                    throw new ConfigException(s.Source, $"End.X {s.Sid}: nexthop {s.NextHop} needs a static neighbors entry (its MAC is part of the SID)");
                sids.Add(new LocalSid(value, s.Behavior, adj.Port, adj.EthWord0, adj.EthWord1));
            }
            else sids.Add(new LocalSid(value, s.Behavior));
        }

        var valid = Enumerable.Range(1, (int)NumericIdentity.WorldIpv6).Select(i => (uint)i)
            .Concat(policy.Identities.All.Select(i => i.Id));
        return new OverlayState(
            [.. peers], sids.ToImmutable(),
            [.. addresses.Select(TunnelPeerFactory.IndexKey)],
            [.. ov.Locators.Select(l => (Core.Routing.RoutePrefix.ToUInt128(l.BaseAddress), l.PrefixLength))],
            valid,
            source4 is null ? 0 : Core.Routing.RoutePrefix.ToUInt32(source4),
            source6 is null ? UInt128.Zero : Core.Routing.RoutePrefix.ToUInt128(source6),
            source4 is null ? PodRouter4(model) : 0);
    }

    /// <summary>
    /// A node with no IPv4 address of its own (an IPv6-only underlay) still sends IPv4 pods their ICMP errors: from the
    /// first host address of its IPv4 pod CIDR, the router address pods use as their gateway (Cilium's cilium_host router
    /// IP is allocated from the pod CIDR likewise). 0 without an IPv4 pod CIDR.
    /// </summary>
    private static uint PodRouter4(ConfigModel model)
    {
        foreach (var c in model.Nodes.FirstOrDefault(n => n.Name == model.Local.Name)?.PodCidrs ?? [])
            if (c.BaseAddress.AddressFamily == AddressFamily.InterNetwork && c.PrefixLength < 31)
                return Core.Routing.RoutePrefix.ToUInt32(c.BaseAddress) + 1;
        return 0;
    }

    private static IPAddress? PickEndpoint(ImmutableArray<IPAddress> ips, bool preferIpv6)
    {
        var want = preferIpv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        return ips.FirstOrDefault(i => i.AddressFamily == want) ?? ips.FirstOrDefault();
    }

    private static TunnelPeer? VxlanPeer(string name, IPAddress endpoint, MacAddress innerMac, uint vni, IPAddress? source,
        ushort port, SnapshotBuilder b, ulong routerMac, SourceLocation at, bool required)
    {
        if (source is null)
        {
            if (!required) return null;
            throw new ConfigException(at, $"VXLAN to {name} ({endpoint}): this node has no {Family(endpoint)} address to send from");
        }
        if (SnapshotCompiler.Reach(b, endpoint) is not { } via)
        {
            if (!required) return null;
            throw new ConfigException(at, $"VXLAN to {name}: endpoint {endpoint} is not on a connected subnet nor behind a route");
        }
        return TunnelPeerFactory.Vxlan(name, endpoint, source, port, via, b.Ports[via.Port].Mtu, innerMac.Value, routerMac, vni);
    }

    private static TunnelPeer? Srv6Peer(string name, IPAddress key, TunnelPeerSpec? spec, NodeTunnelSpec? ann,
        IPAddress? source6, SnapshotBuilder b, SourceLocation at, bool required)
    {
        var sid4 = spec?.Sid4 ?? ann?.Sid4;
        var sid6 = spec?.Sid6 ?? ann?.Sid6;
        var transit = spec?.Segments ?? [];
        List<IPAddress>? s4 = sid4 is null ? null : [.. transit, sid4];
        List<IPAddress>? s6 = sid6 is null ? null : [.. transit, sid6];
        var first = (s4 ?? s6)?[0];
        if (!required && (source6 is null || first is null || SnapshotCompiler.Reach(b, first) is null)) return null;
        if (source6 is null) throw new ConfigException(at, $"SRv6 to {name}: this node has no IPv6 address to encapsulate from");
        if (first is null) throw new ConfigException(at, $"SRv6 to {name}: no SID (set sid4/sid6 or the dataplane.io/srv6-sid4/6 annotations)");
        var via = Reach(b, first, at, $"SRv6 to {name}: first SID {first}");
        if (s4 is not null && s6 is not null && !s6[0].Equals(first) && !Reach(b, s6[0], at, $"SRv6 to {name}: first SID {s6[0]}").Equals(via))
            throw new ConfigException(at, $"SRv6 to {name}: the IPv4 and IPv6 SIDs must be reached through the same next hop");
        return TunnelPeerFactory.Srv6(name, key, source6, via, b.Ports[via.Port].Mtu, s4, s6, spec?.Reduced ?? false);
    }

    private static NextHop Reach(SnapshotBuilder b, IPAddress target, SourceLocation at, string what) =>
        SnapshotCompiler.Reach(b, target) is { } via ? via
            : throw new ConfigException(at, $"{what} is not on a connected subnet nor behind a route");

    /// <summary>The underlay hop recorded in the Tunnel next hop (informational: the encap stage uses the peer's).</summary>
    private static NextHop UnderlayOf(SnapshotBuilder b, in TunnelPeer t) =>
        new(NextHopKind.Port, t.Port, 0, b.Ports[t.Port].Mac, 0);

    private static string Family(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork ? "IPv4" : "IPv6";
}
