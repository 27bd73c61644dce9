using System.Net;
using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;

namespace Dataplane.Control.Compiler;

/// <summary>
/// The addresses that are not pods and the reserved identities they get, as Cilium's ipcache metadata layer
/// resolves them (pkg/ipcache metadata.go resolveIdentity):
/// <list type="bullet">
/// <item>node addresses (InternalIPs, <c>network.cilium.io/ipv4-cilium-host</c>) — this node's are host (1),
/// the others remote-node (6);</item>
/// <item>the endpoints of the <c>default/kubernetes</c> Service carry reserved:kube-apiserver: on this node the
/// host identity gains the label, on a remote node the address is kube-apiserver (7, labels kube-apiserver +
/// remote-node), outside the cluster it is a CIDR identity with the label (so <c>world</c> selects it too);</item>
/// <item>health endpoints (<c>network.cilium.io/ipv4-health-ip</c>, ipv6 likewise, and the older
/// <c>io.cilium.network.</c> spelling) are health (4), Cilium ingress proxies
/// (<c>network.cilium.io/ipv4-Ingress-ip</c>) ingress (8);</item>
/// <item>with node selectors in use (Cilium's enable-node-selector-labels), each remote node's addresses get an
/// identity of their own, labels reserved:remote-node + <c>node:</c> labels, and the host identity gains this
/// node's <c>node:</c> labels.</item>
/// </list>
/// </summary>
internal sealed class IdentityMetadata
{
    public const string ApiServerNamespace = "default", ApiServerService = "kubernetes";

    private static readonly string[] HealthAnnotations4 = ["network.cilium.io/ipv4-health-ip", "io.cilium.network.ipv4-health-ip"];
    private static readonly string[] HealthAnnotations6 = ["network.cilium.io/ipv6-health-ip", "io.cilium.network.ipv6-health-ip"];
    private static readonly string[] IngressAnnotations4 = ["network.cilium.io/ipv4-Ingress-ip", "io.cilium.network.ipv4-Ingress-ip"];
    private static readonly string[] IngressAnnotations6 = ["network.cilium.io/ipv6-Ingress-ip", "io.cilium.network.ipv6-Ingress-ip"];
    private static readonly string[] RouterAnnotations = ["network.cilium.io/ipv4-cilium-host", "io.cilium.network.ipv4-cilium-host",
        "network.cilium.io/ipv6-cilium-host", "io.cilium.network.ipv6-cilium-host"];

    private readonly List<(IPAddress Ip, LabelSet? Labels, uint Id, IPAddress? Owner)> _entries = [];

    public IdentityExtras Extras { get; }

    private IdentityMetadata(IdentityExtras extras) => Extras = extras;

    /// <param name="model">The validated configuration.</param>
    /// <param name="perNodeLabels">Whether node selectors are in use (remote nodes get per-node identities).</param>
    public static IdentityMetadata From(ConfigModel model, bool perNodeLabels)
    {
        var apiServer = ApiServerAddresses(model);
        var hostLabels = new List<Label>();
        var remoteNodes = new List<LabelSet>();
        var pending = new List<(IPAddress Ip, LabelSet? Labels, uint Id, IPAddress? Owner)>();
        var nodeAddresses = new HashSet<IPAddress>();
        var kube = IdentityLabels.ReservedLabel(NumericIdentity.KubeApiServer);

        foreach (var n in model.Nodes)
        {
            bool local = n.Name == model.Local.Name;
            var ips = n.InternalIps.Concat(AnnotatedIps(n, RouterAnnotations)).Distinct().ToList();
            if (local)
                ips.AddRange(model.Local.Interfaces.SelectMany(i => i.Addresses).Select(a => a.Address).Where(a => !ips.Contains(a)));
            var nodeLabels = perNodeLabels ? n.Labels.Select(kv => new Label(Label.SourceNode, kv.Key, kv.Value)).ToList() : [];
            if (local) hostLabels.AddRange(nodeLabels);
            foreach (var ip in ips)
            {
                nodeAddresses.Add(ip);
                // A node's own addresses own themselves; an annotated router address belongs to the node's InternalIP.
                var owner = n.InternalIps.Contains(ip) || local ? ip : n.InternalIps.FirstOrDefault(i => i.AddressFamily == ip.AddressFamily) ?? ip;
                if (local)
                {
                    if (apiServer.Contains(ip) && !hostLabels.Contains(kube)) hostLabels.Add(kube);
                    pending.Add((ip, null, NumericIdentity.Host, owner));
                    continue;
                }
                var labels = new List<Label> { IdentityLabels.ReservedLabel(NumericIdentity.RemoteNode) };
                if (apiServer.Contains(ip)) labels.Add(kube);
                labels.AddRange(nodeLabels);
                var set = new LabelSet(labels);
                remoteNodes.Add(set);
                pending.Add((ip, set, 0, owner));
            }
            foreach (var ip in AnnotatedIps(n, HealthAnnotations4).Concat(AnnotatedIps(n, HealthAnnotations6)))
                pending.Add((ip, null, NumericIdentity.Health, n.InternalIps.FirstOrDefault(i => i.AddressFamily == ip.AddressFamily)));
            foreach (var ip in AnnotatedIps(n, IngressAnnotations4).Concat(AnnotatedIps(n, IngressAnnotations6)))
                pending.Add((ip, null, NumericIdentity.Ingress, n.InternalIps.FirstOrDefault(i => i.AddressFamily == ip.AddressFamily)));
        }

        // An apiserver that is no node of the cluster: its own CIDR identity, labelled kube-apiserver.
        var cidrLabels = new Dictionary<IPNetwork, IReadOnlyList<Label>>();
        foreach (var ip in apiServer)
            if (!nodeAddresses.Contains(ip)) cidrLabels[HostPrefix(ip)] = [kube];

        var meta = new IdentityMetadata(new IdentityExtras(hostLabels, cidrLabels, remoteNodes));
        meta._entries.AddRange(pending);
        return meta;
    }

    /// <summary>The ipcache entries of these addresses, once <paramref name="table"/> has numbered their label sets.</summary>
    public IEnumerable<IpCacheEntry> Entries(IdentityTable table)
    {
        foreach (var (ip, labels, id, owner) in _entries)
        {
            uint resolved = labels == null ? id : Resolve(table, labels);
            yield return new IpCacheEntry(HostPrefix(ip), resolved, owner);
        }
    }

    /// <summary>A remote node's label set: the reserved identity it equals (remote-node, kube-apiserver), else its own.</summary>
    private static uint Resolve(IdentityTable table, LabelSet labels)
    {
        if (labels.Key == IdentityLabels.Reserved(NumericIdentity.RemoteNode).Key) return NumericIdentity.RemoteNode;
        if (labels.Key == IdentityLabels.Reserved(NumericIdentity.KubeApiServer).Key) return NumericIdentity.KubeApiServer;
        uint id = table.IdOf(labels);
        return id != 0 ? id : NumericIdentity.RemoteNode;
    }

    /// <summary>Every address of the <c>default/kubernetes</c> Service's EndpointSlices (Cilium's k8s watcher).</summary>
    private static HashSet<IPAddress> ApiServerAddresses(ConfigModel model)
    {
        var set = new HashSet<IPAddress>();
        foreach (var s in model.EndpointSlices)
            if (s.Namespace == ApiServerNamespace && s.ServiceName == ApiServerService)
                foreach (var e in s.Endpoints)
                    foreach (var a in e.Addresses) set.Add(a);
        return set;
    }

    private static IEnumerable<IPAddress> AnnotatedIps(NodeSpec n, string[] keys)
    {
        foreach (var k in keys)
            if (n.Annotations.TryGetValue(k, out var v) && IpText.TryParseAddress(v, out var ip)) yield return ip;
    }

    private static IPNetwork HostPrefix(IPAddress a) => new(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
}
