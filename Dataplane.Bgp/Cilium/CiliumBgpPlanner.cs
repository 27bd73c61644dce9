using System.Net;
using System.Net.Sockets;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Cilium;

/// <summary>One peer this node should have, and exactly what it should be sent.</summary>
public sealed record PlannedPeer(string Instance, uint LocalAsn, PeerConfig Config, CiliumBgpPeerConfig PeerConfig,
    IReadOnlyDictionary<BgpPrefix, LocalRoute> Routes);

/// <summary>The desired BGP state of one node.</summary>
public sealed record CiliumBgpPlan(IReadOnlyList<PlannedPeer> Peers);

/// <summary>
/// Turns Cilium's BGP CRDs into the peers and per-peer routes of one node, as Cilium's BGP control plane
/// (v2 CRDs) would: cluster configs select the node; each peer's CiliumBGPPeerConfig selects
/// CiliumBGPAdvertisements per family by label; PodCIDR entries announce the node's pod CIDRs; Service
/// entries announce /32 or /128 host routes for the selected services' ClusterIPs, externalIPs and
/// LoadBalancer ingress IPs, except that with traffic policy Local a service is announced only while this
/// node has a ready backend. Communities of all matching entries are merged; the highest local-pref wins.
/// </summary>
public static class CiliumBgpPlanner
{
    public static CiliumBgpPlan Plan(CiliumBgpResources res, string nodeName)
    {
        var node = res.Nodes.GetValueOrDefault(nodeName) ?? new KubeNode(nodeName, new Dictionary<string, string>(), []);
        var peers = new List<PlannedPeer>();
        foreach (var cc in res.ClusterConfigs)
        {
            if (cc.NodeSelector is not null && !cc.NodeSelector.Matches(node.Labels)) continue;
            foreach (var inst in cc.Instances)
            {
                foreach (var p in inst.Peers)
                {
                    var pc = p.PeerConfigRef is not null && res.PeerConfigs.TryGetValue(p.PeerConfigRef, out var found) ? found : new CiliumBgpPeerConfig("default");
                    var config = new PeerConfig(p.PeerAddress, p.PeerAsn)
                    {
                        Port = pc.PeerPort,
                        HoldTime = pc.HoldTimeSeconds,
                        ConnectRetry = TimeSpan.FromSeconds(Math.Max(1, pc.ConnectRetryTimeSeconds)),
                        GracefulRestartTime = pc.GracefulRestart ? pc.RestartTimeSeconds : (ushort)0,
                    };
                    peers.Add(new PlannedPeer(inst.Name, inst.LocalAsn, config, pc, RoutesFor(res, node, pc)));
                }
            }
        }
        return new CiliumBgpPlan(peers);
    }

    private static Dictionary<BgpPrefix, LocalRoute> RoutesFor(CiliumBgpResources res, KubeNode node, CiliumBgpPeerConfig pc)
    {
        var routes = new Dictionary<BgpPrefix, LocalRoute>();
        foreach (var fam in pc.Families)
        {
            if (fam.Advertisements is null) continue;
            foreach (var adv in res.Advertisements.Where(a => fam.Advertisements.Matches(a.Labels)))
                foreach (var entry in adv.Entries)
                    foreach (var prefix in Prefixes(res, node, entry).Where(p => p.Family == fam.Family))
                        routes[prefix] = Merge(routes.GetValueOrDefault(prefix), prefix, entry);
        }
        return routes;
    }

    private static IEnumerable<BgpPrefix> Prefixes(CiliumBgpResources res, KubeNode node, CiliumAdvertisementEntry entry)
    {
        switch (entry.Type)
        {
            case "PodCIDR":
                return node.PodCidrs;
            case "Service":
                if (entry.Selector is null) return []; // Cilium: no selector selects no services
                var result = new List<BgpPrefix>();
                foreach (var svc in res.Services.Where(s => entry.Selector.Matches(ServiceLabels(s))))
                {
                    bool local = HasLocalReadyBackend(res, svc, node.Name);
                    foreach (var kind in entry.ServiceAddresses)
                    {
                        var (ips, policyLocal) = kind switch
                        {
                            "ClusterIP" => (svc.ClusterIps, svc.InternalTrafficPolicyLocal),
                            "ExternalIP" => (svc.ExternalIps, svc.ExternalTrafficPolicyLocal),
                            "LoadBalancerIP" => (svc.LoadBalancerIps, svc.ExternalTrafficPolicyLocal),
                            _ => ((IReadOnlyList<IPAddress>)[], false),
                        };
                        if (policyLocal && !local) continue;
                        result.AddRange(ips.Select(ip => new BgpPrefix(ip, ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)));
                    }
                }
                return result;
            default:
                return [];
        }
    }

    /// <summary>Service labels plus the pseudo-labels Cilium lets selectors use for name and namespace.</summary>
    private static Dictionary<string, string> ServiceLabels(KubeService s) => new(s.Labels)
    {
        ["io.kubernetes.service.name"] = s.Name,
        ["io.kubernetes.service.namespace"] = s.Namespace,
    };

    private static bool HasLocalReadyBackend(CiliumBgpResources res, KubeService svc, string nodeName) =>
        res.EndpointSlices.Any(es => es.Namespace == svc.Namespace && es.ServiceName == svc.Name
            && es.Endpoints.Any(e => e.Ready && e.NodeName == nodeName));

    private static LocalRoute Merge(LocalRoute? existing, BgpPrefix prefix, CiliumAdvertisementEntry entry)
    {
        if (existing is null)
            return new LocalRoute(prefix) { Communities = [.. entry.Communities.Distinct()], LocalPref = entry.LocalPreference };
        uint? lp = (existing.LocalPref, entry.LocalPreference) switch
        {
            (null, var b) => b,
            (var a, null) => a,
            (uint a, uint b) => Math.Max(a, b),
        };
        return existing with { Communities = [.. existing.Communities.Concat(entry.Communities).Distinct()], LocalPref = lp };
    }
}
