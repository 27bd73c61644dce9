using System.Net;
using System.Net.Sockets;
using System.Text;
using Dataplane.Bgp.Cilium;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Wire;
using Dataplane.Control.Config;

namespace Dataplane.Host.Bgp;

/// <summary>One BGP instance this node should run: its speaker's identity and what each peer is sent.</summary>
internal sealed record DesiredInstance(string Name, SpeakerConfig Speaker, CiliumBgpPlan Plan, string Fingerprint);

/// <summary>
/// From the validated model to the BGP instances of this node: the cluster configs whose nodeSelector matches the
/// local Node give instances and peers; <c>CiliumBGPNodeConfigOverride</c> (named after this node) gives router
/// ID, local ASN, listening port and per-peer source address; peer configs give timers, port and the MD5 password;
/// the advertisements are planned by <see cref="CiliumBgpPlanner"/> over this node's pod CIDRs and the services
/// (with the addresses LB-IPAM gave them). Without a routerID override the router ID is the node's first IPv4
/// InternalIP (as Cilium derives it), else its first IPv4 interface address. An instance listens only when
/// localPort is set (Cilium's default is not to listen); it connects to its peers either way.
/// </summary>
internal static class BgpPlanning
{
    /// <param name="podCidrs">What a PodCIDR advertisement announces for this host (null: the local Node's pod CIDRs;
    /// a gateway announces the mesh's, see <see cref="Agent.HostProfile.AdvertisedPodCidrs"/>).</param>
    public static List<DesiredInstance> Plan(ConfigModel m, Action<string> log, List<string> problems, IEnumerable<IPNetwork>? podCidrs = null)
    {
        var result = new List<DesiredInstance>();
        if (m.Bgp.IsEmpty) return result;
        var node = m.LocalNode;
        var resources = Resources(m);
        if (podCidrs is not null)
            resources.Nodes[node.Name] = resources.Nodes[node.Name] with { PodCidrs = [.. podCidrs.Select(c => new BgpPrefix(c.BaseAddress, c.PrefixLength))] };
        var plan = CiliumBgpPlanner.Plan(resources, node.Name);
        var overrides = m.Bgp.NodeOverrides.FirstOrDefault(o => o.NodeName == node.Name);
        var labels = node.SelectorLabels();
        foreach (var cc in m.Bgp.ClusterConfigs)
        {
            if (cc.NodeSelector is { } sel && !sel.Matches(labels)) continue;
            foreach (var inst in cc.Instances)
            {
                if (result.Any(r => r.Name == inst.Name))
                {
                    problems.Add($"BGP instance '{inst.Name}' of CiliumBGPClusterConfig {cc.Name} is also defined by another cluster config selecting this node; the first is run");
                    continue;
                }
                var ov = overrides?.Instances.FirstOrDefault(i => i.Name == inst.Name);
                var routerId = ov?.RouterId
                    ?? node.InternalIps.FirstOrDefault(ip => ip.AddressFamily == AddressFamily.InterNetwork)
                    ?? m.Local.Interfaces.SelectMany(i => i.Addresses).Select(a => a.Address).FirstOrDefault(ip => ip.AddressFamily == AddressFamily.InterNetwork);
                if (routerId is null)
                {
                    problems.Add($"BGP instance '{inst.Name}': no router ID (set routerID in a CiliumBGPNodeConfigOverride or give the node an IPv4 InternalIP)");
                    continue;
                }
                uint asn = ov?.LocalAsn ?? inst.LocalAsn;
                var peers = new List<PlannedPeer>();
                foreach (var p in plan.Peers.Where(p => p.Instance == inst.Name && p.LocalAsn == inst.LocalAsn))
                {
                    var spec = inst.Peers.First(x => x.Address.Equals(p.Config.Address));
                    var pc = m.Bgp.PeerConfigs.FirstOrDefault(c => c.Name == spec.PeerConfigRef);
                    var local = ov?.Peers.FirstOrDefault(x => x.Name == spec.Name)?.LocalAddress;
                    peers.Add(p with { LocalAsn = asn, Config = p.Config with { Password = pc?.Password, LocalAddress = local } });
                }
                var speaker = new SpeakerConfig(asn, routerId)
                {
                    Listen = ov?.LocalPort is int port ? new IPEndPoint(IPAddress.IPv6Any, port) : null,
                    GracefulRestartTime = 0,   // per peer, from its CiliumBGPPeerConfig (off unless enabled)
                    Log = log,
                };
                var instancePlan = new CiliumBgpPlan(peers);
                result.Add(new DesiredInstance(inst.Name, speaker, instancePlan, Fingerprint(speaker, instancePlan)));
            }
        }
        return result;
    }

    /// <summary>The model as the Cilium planner reads it: nodes, services (LB-IPAM addresses included), slices, BGP CRDs.</summary>
    private static CiliumBgpResources Resources(ConfigModel m)
    {
        var res = new CiliumBgpResources();
        foreach (var n in m.Nodes)
            res.Nodes[n.Name] = new KubeNode(n.Name, n.Labels, [.. n.PodCidrs.Select(c => new BgpPrefix(c.BaseAddress, c.PrefixLength))]);
        foreach (var s in m.Services)
            res.Services.Add(new KubeService(s.Namespace, s.Name, s.Labels)
            {
                ClusterIps = s.ClusterIps, ExternalIps = s.ExternalIps, LoadBalancerIps = s.LoadBalancerIps,
                ExternalTrafficPolicyLocal = s.ExternalTrafficLocal, InternalTrafficPolicyLocal = s.InternalTrafficLocal,
            });
        foreach (var es in m.EndpointSlices)
            res.EndpointSlices.Add(new KubeEndpointSlice(es.Namespace, es.ServiceName, [.. es.Endpoints.Select(e => ((string?)e.NodeName, e.Ready))]));
        foreach (var cc in m.Bgp.ClusterConfigs)
            res.ClusterConfigs.Add(new CiliumBgpClusterConfig(cc.Name, null,   // node selection is done above, on the Control selector
                [.. cc.Instances.Select(i => new CiliumBgpInstance(i.Name, i.LocalAsn,
                    [.. i.Peers.Select(p => new CiliumBgpPeer(p.Name, p.PeerAsn, p.Address, p.PeerConfigRef))]))]));
        foreach (var pc in m.Bgp.PeerConfigs)
            res.PeerConfigs[pc.Name] = new CiliumBgpPeerConfig(pc.Name)
            {
                PeerPort = pc.PeerPort,
                HoldTimeSeconds = pc.HoldTimeSeconds,
                ConnectRetryTimeSeconds = pc.ConnectRetryTimeSeconds,
                GracefulRestart = pc.GracefulRestart,
                RestartTimeSeconds = pc.RestartTimeSeconds,
                Families = [.. pc.Families.Select(f => new CiliumBgpFamily(f.Ipv6 ? Family.Ipv6Unicast : Family.Ipv4Unicast, Selector(f.Advertisements)))],
            };
        foreach (var a in m.Bgp.Advertisements)
            res.Advertisements.Add(new CiliumBgpAdvertisement(a.Name, a.Labels, [.. a.Entries.Select(Entry)]));
        return res;
    }

    private static CiliumAdvertisementEntry Entry(BgpAdvertisementEntrySpec e) => new(e.Type.ToString())
    {
        ServiceAddresses = [.. new[] { (e.ClusterIp, "ClusterIP"), (e.ExternalIp, "ExternalIP"), (e.LoadBalancerIp, "LoadBalancerIP") }.Where(x => x.Item1).Select(x => x.Item2)],
        Selector = Selector(e.Selector),
        Communities = e.Communities,
        LocalPreference = e.LocalPreference,
    };

    /// <summary>A Control selector as the planner's: equality becomes a one-value In; label sources do not apply to CRD labels.</summary>
    private static LabelSelector? Selector(EndpointSelector? s) => s is null ? null
        : new LabelSelector(new Dictionary<string, string>(),
            [.. s.Requirements.Select(r => new LabelRequirement(r.Key, r.Op == SelectorOp.Equals ? "In" : r.Op.ToString(), r.Values))]);

    /// <summary>Everything that decides what an instance sends, so an unchanged plan is not re-applied.</summary>
    private static string Fingerprint(SpeakerConfig speaker, CiliumBgpPlan plan)
    {
        var sb = new StringBuilder().Append(speaker.LocalAs).Append(' ').Append(speaker.RouterId).Append(' ').Append(speaker.Listen);
        foreach (var p in plan.Peers.OrderBy(p => p.Config.Address.ToString(), StringComparer.Ordinal))
        {
            sb.Append('|').Append(p.Config.GetHashCode()).Append(p.Config.Address).Append(' ').Append(p.Config.RemoteAs);
            foreach (var (prefix, r) in p.Routes.OrderBy(kv => kv.Key.ToString(), StringComparer.Ordinal))
                sb.Append(';').Append(prefix).Append(' ').Append(string.Join(',', r.Communities)).Append(' ').Append(r.LocalPref);
        }
        return sb.ToString();
    }
}
