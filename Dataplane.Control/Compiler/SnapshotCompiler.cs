using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.Core.Policy;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Compiles a validated <see cref="ConfigModel"/> into a <see cref="DatapathSnapshot"/>. Route precedence comes
/// from prefix length alone (LPM), so the order below only matters for resolving gateways:
/// connected subnets (glean: each destination resolved by ARP/ND) → the node's own addresses (host) → static
/// neighbours (host routes with their MAC, overriding resolution) → routes learned by BGP (ECMP; below everything
/// configured) → static routes (to a gateway resolved by ARP/ND unless it is a static neighbour) → this node's pod
/// CIDRs (no endpoint unless a pod has the address) → local pods
/// → peer nodes' pod CIDRs routed natively toward the peer's InternalIP, or through a tunnel (VXLAN/SRv6, see
/// <see cref="OverlayCompiler"/>).
/// A peer that no interface route reaches is a config error, not a silent black hole.
/// Identities, the ipcache and each local endpoint's policy maps come from <see cref="PolicyCompiler"/>.
/// </summary>
public static class SnapshotCompiler
{
    /// <summary>Cilium's VXLAN port; recognised on receive so tunnel traffic is classified.</summary>
    public const ushort DefaultVxlanPort = 8472;

    /// <summary>Compiles <paramref name="model"/>; pass the snapshot being replaced as <paramref name="previous"/>
    /// so its routing tables are reused when the routes did not change, and identities learned outside the config
    /// (Cluster Mesh) as <paramref name="external"/>.</summary>
    public static DatapathSnapshot Compile(ConfigModel model, long generation = 1, DatapathSnapshot? previous = null,
        ExternalIdentities? external = null)
    {
        var local = model.Local;
        var b = new SnapshotBuilder
        {
            RouterMac = local.RouterMac.Value,
            NodeName = local.Name,
            Generation = generation,
            VxlanPort = DefaultVxlanPort,
        };

        var ports = new Dictionary<string, (ushort Port, ulong Mac)>(StringComparer.Ordinal);
        foreach (var itf in local.Interfaces)
            ports[itf.Name] = (b.AddInterface(itf.Name, itf.Mac.Value, itf.Mtu,
                itf.Addresses.Select(a => new PortAddress(Key(a.Address), a.Network.PrefixLength, IsV6(a.Address)))), itf.Mac.Value);

        // Connected subnets: the destination itself is resolved by ARP/ND (glean).
        foreach (var itf in local.Interfaces)
            foreach (var a in itf.Addresses)
                b.AddRoute(a.Network, NextHop.GleanOn(ports[itf.Name].Port, ports[itf.Name].Mac));
        foreach (var itf in local.Interfaces)
            foreach (var a in itf.Addresses)
                b.AddRoute(HostPrefix(a.Address), NextHop.Host);

        // Static neighbours override resolution: a host route with the MAC written in.
        foreach (var n in local.Neighbors)
            b.AddStaticNeighbor(n.Ip, ports[n.Interface].Port, n.Mac.Value);

        LearnedRoutes(model, b);

        foreach (var r in local.Routes)
        {
            if (r.Via is null)
            {
                // On-link through the interface: resolve each destination there.
                var (port, mac) = ports[r.Interface!];
                b.AddRoute(r.Destination, NextHop.GleanOn(port, mac));
                continue;
            }
            var nh = Reach(b, r.Via)
                ?? throw new ConfigException(r.Source, $"route {r.Destination}: gateway {r.Via} is not on a connected subnet");
            b.AddRoute(r.Destination, nh);
        }

        var localNode = model.LocalNode;
        foreach (var cidr in localNode.PodCidrs) b.AddRoute(cidr, NextHop.NoEndpoint);

        // Ports of pods in a stable order, so the same config always numbers ports the same way.
        var localPods = model.LocalPods.OrderBy(p => p.Namespace, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal).ToList();
        var endpointPods = new List<PodSpec?> { null };
        endpointPods.AddRange(localPods);
        // Identities, ipcache and policy maps; endpoint ids are the pods' positions in endpointPods.
        var policy = PolicyCompiler.Compile(model, endpointPods, external);
        for (int i = 0; i < localPods.Count; i++)
        {
            var pod = localPods[i];
            var ep = b.AddEndpoint(pod.Namespace, pod.Name, pod.Labels, pod.InterfaceName, pod.Mac.Value, pod.Ips,
                policy.EndpointIdentities[i + 1]);
            // The node's L7 proxy is an endpoint of its own; the datapath redirects to it (IPv4).
            if (pod.L7ProxyPort != 0 && ep.HasIpv4)
                b.L7Proxy = new Core.L7.ProxyTarget(ep.Id, ep.Ipv4, pod.L7ProxyPort,
                    new NextHop(NextHopKind.Endpoint, ep.Port, ep.Mac, b.RouterMac, ep.Id)) { DnsPort = pod.L7DnsPort };
        }
        b.Policy = policy;
        if (b.L7Proxy is { } proxy) b.L7Proxy = HttpRouteCompiler.Attach(model, proxy);

        foreach (var peer in model.Nodes)
        {
            if (peer.Name == local.Name) continue;
            if (OverlayCompiler.ModeOf(model, peer) != Core.Overlay.TunnelMode.Native) continue;   // tunnel routes: below
            foreach (var cidr in model.RoutedTo(peer))
            {
                var family = cidr.BaseAddress.AddressFamily;
                var nodeIp = peer.InternalIps.FirstOrDefault(ip => ip.AddressFamily == family)
                    ?? throw new ConfigException(peer.Source,
                        $"node {peer.Name}: pod CIDR {cidr} needs an InternalIP of the same family for native routing");
                var nh = Reach(b, nodeIp)
                    ?? throw new ConfigException(peer.Source,
                        $"node {peer.Name}: InternalIP {nodeIp} is not on a connected subnet nor behind a route");
                b.AddRoute(cidr, nh);
            }
        }
        b.Services = ServiceCompiler.Compile(model, b);
        b.Overlay = OverlayCompiler.Compile(model, b, policy);
        b.Encryption = EncryptionCompiler.Compile(model);
        b.ClusterRoutes = ClusterRouteCompiler.Compile(external, b, b.Overlay);
        b.ClusterNetmap = ClusterRouteCompiler.Netmap(external);
        return b.Build(previous);
    }

    /// <summary>
    /// The next hop toward <paramref name="target"/> as a neighbour: through a static neighbour (its MAC), the gateway
    /// of the route covering it, or — on a connected subnet — the target itself as the gateway, resolved by ARP/ND.
    /// Null when no interface route reaches it.
    /// </summary>
    public static NextHop? Reach(SnapshotBuilder b, IPAddress target) => b.Resolve(target) switch
    {
        { Kind: NextHopKind.Port or NextHopKind.Gateway } nh => nh,
        { Kind: NextHopKind.Glean } g => NextHop.GatewayOn(g.Port, g.SrcMac, Key(target), IsV6(target)),
        _ => null,
    };

    private static bool IsV6(IPAddress a) => a.AddressFamily == AddressFamily.InterNetworkV6;

    private static UInt128 Key(IPAddress a) => IsV6(a) ? RoutePrefix.ToUInt128(a) : RoutePrefix.ToUInt32(a);

    /// <summary>
    /// Routes learned at run time (BGP) rank below every configured route, as the kernel ranks a BGP route below
    /// connected and static ones: a learned prefix that is also a connected subnet, one of our addresses or a
    /// neighbour is skipped here, and static routes, pod CIDRs and endpoints added later replace it. Each next hop
    /// must be on a connected subnet (resolved by ARP/ND, or a static neighbour); several become one ECMP group; one
    /// with none reachable is not installed.
    /// </summary>
    private static void LearnedRoutes(ConfigModel model, SnapshotBuilder b)
    {
        // Next hops resolve against the configured routes only (a learned route never makes another reachable),
        // each distinct one once: a full table names a handful of peers a million times.
        var reach = new Dictionary<IPAddress, NextHop?>();
        ImmutableArray<IPAddress> seen = default;
        foreach (var r in model.LearnedRoutes)
        {
            if (!seen.IsDefault && r.NextHops == seen) continue;   // the speaker shares one array per next-hop set
            foreach (var via in r.NextHops)
                if (!reach.ContainsKey(via)) reach[via] = Reach(b, via);
            seen = r.NextHops;
        }
        b.ReserveRoutes(model.LearnedRoutes.Length);
        var members = new List<NextHop>();
        // Routes in a row usually name the same next hops (one peer's table): their next hop is worked out once.
        ImmutableArray<IPAddress> lastVia = default;
        NextHop? lastHop = null;
        foreach (var r in model.LearnedRoutes)
        {
            if (lastVia.IsDefault || (r.NextHops != lastVia && !r.NextHops.AsSpan().SequenceEqual(lastVia.AsSpan())))
            {
                members.Clear();
                foreach (var via in r.NextHops)
                    if (reach[via] is { } nh && !members.Contains(nh)) members.Add(nh);
                lastVia = r.NextHops;
                lastHop = members.Count > 0 ? b.MultipathNextHop(members) : null;
            }
            if (lastHop is { } hop) b.TryAddRoute(r.Prefix, hop);
        }
    }

    private static IPNetwork HostPrefix(IPAddress a) =>
        new(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
}
