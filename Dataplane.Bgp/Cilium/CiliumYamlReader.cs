using System.Net;
using Dataplane.Bgp.Wire;
using YamlDotNet.RepresentationModel;

namespace Dataplane.Bgp.Cilium;

/// <summary>
/// Reads Cilium BGP CRDs plus the Nodes, Services and EndpointSlices they select from multi-document YAML
/// (as <c>kubectl get -o yaml</c> or manifests give them). Other kinds are skipped. A malformed value
/// throws <see cref="FormatException"/> naming the object: this is configuration, not peer input.
/// </summary>
public static class CiliumYamlReader
{
    public static CiliumBgpResources Read(params string[] yamlTexts)
    {
        var res = new CiliumBgpResources();
        foreach (var text in yamlTexts)
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            foreach (var doc in stream.Documents)
                if (doc.RootNode is YamlMappingNode root) Add(res, root);
        }
        return res;
    }

    private static void Add(CiliumBgpResources res, YamlMappingNode o)
    {
        string kind = Str(o, "kind") ?? "";
        if (kind == "List")
        {
            foreach (var item in Seq(o, "items").OfType<YamlMappingNode>()) Add(res, item);
            return;
        }
        var meta = Map(o, "metadata");
        string name = Str(meta, "name") ?? "";
        var spec = Map(o, "spec");
        try
        {
            switch (kind)
            {
                case "CiliumBGPClusterConfig":
                    res.ClusterConfigs.Add(new CiliumBgpClusterConfig(name, Selector(Map(spec, "nodeSelector")),
                        [.. Seq(spec, "bgpInstances").OfType<YamlMappingNode>().Select(Instance)]));
                    break;
                case "CiliumBGPPeerConfig":
                    res.PeerConfigs[name] = PeerConfig(name, spec);
                    break;
                case "CiliumBGPAdvertisement":
                    res.Advertisements.Add(new CiliumBgpAdvertisement(name, Labels(meta),
                        [.. Seq(spec, "advertisements").OfType<YamlMappingNode>().Select(AdvertisementEntry)]));
                    break;
                case "Node":
                    res.Nodes[name] = new KubeNode(name, Labels(meta),
                        [.. Seq(spec, "podCIDRs").Select(n => BgpPrefix.Parse(Scalar(n))).Concat(Str(spec, "podCIDR") is string one && !Seq(spec, "podCIDRs").Any() ? [BgpPrefix.Parse(one)] : [])]);
                    break;
                case "Service":
                    res.Services.Add(Service(meta, spec, Map(o, "status")));
                    break;
                case "EndpointSlice":
                    var owner = Labels(meta).GetValueOrDefault("kubernetes.io/service-name") ?? "";
                    res.EndpointSlices.Add(new KubeEndpointSlice(Str(meta, "namespace") ?? "default", owner,
                        [.. Seq(o, "endpoints").OfType<YamlMappingNode>().Select(e =>
                            (Str(e, "nodeName"), Str(Map(e, "conditions"), "ready") is not "false"))]));
                    break;
            }
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
        {
            throw new FormatException($"{kind} {name}: {ex.Message}", ex);
        }
    }

    private static CiliumBgpInstance Instance(YamlMappingNode i) => new(Str(i, "name") ?? "",
        uint.Parse(Str(i, "localASN") ?? throw new FormatException("bgpInstances[].localASN is required")),
        [.. Seq(i, "peers").OfType<YamlMappingNode>().Select(p => new CiliumBgpPeer(Str(p, "name") ?? "",
            uint.Parse(Str(p, "peerASN") ?? "0"),
            IPAddress.Parse(Str(p, "peerAddress") ?? throw new FormatException("peers[].peerAddress is required")),
            Str(Map(p, "peerConfigRef"), "name")))]);

    private static CiliumBgpPeerConfig PeerConfig(string name, YamlMappingNode? spec)
    {
        var cfg = new CiliumBgpPeerConfig(name);
        if (Str(Map(spec, "transport"), "peerPort") is string port) cfg = cfg with { PeerPort = int.Parse(port) };
        var timers = Map(spec, "timers");
        if (Str(timers, "holdTimeSeconds") is string hold) cfg = cfg with { HoldTimeSeconds = ushort.Parse(hold) };
        if (Str(timers, "connectRetryTimeSeconds") is string retry) cfg = cfg with { ConnectRetryTimeSeconds = int.Parse(retry) };
        var gr = Map(spec, "gracefulRestart");
        if (gr is not null)
        {
            cfg = cfg with { GracefulRestart = Str(gr, "enabled") == "true" };
            if (Str(gr, "restartTimeSeconds") is string rt) cfg = cfg with { RestartTimeSeconds = ushort.Parse(rt) };
        }
        var fams = Seq(spec, "families").OfType<YamlMappingNode>().ToList();
        if (fams.Count > 0)
        {
            cfg = cfg with
            {
                Families = [.. fams.Select(f => new CiliumBgpFamily(
                    new Family(Str(f, "afi") == "ipv6" ? Afi.Ipv6 : Str(f, "afi") == "ipv4" ? Afi.Ipv4 : throw new FormatException($"unsupported afi {Str(f, "afi")}"),
                        Str(f, "safi") is null or "unicast" ? Safi.Unicast : throw new FormatException($"unsupported safi {Str(f, "safi")}")),
                    Selector(Map(f, "advertisements"))))],
            };
        }
        return cfg;
    }

    private static CiliumAdvertisementEntry AdvertisementEntry(YamlMappingNode a)
    {
        var attrs = Map(a, "attributes");
        var comms = Map(attrs, "communities");
        return new CiliumAdvertisementEntry(Str(a, "advertisementType") ?? "")
        {
            ServiceAddresses = [.. Seq(Map(a, "service"), "addresses").Select(Scalar)],
            Selector = Selector(Map(a, "selector")),
            Communities = [.. Seq(comms, "standard").Select(n => PathAttributes.ParseCommunity(Scalar(n)))],
            LocalPreference = Str(attrs, "localPreference") is string lp ? uint.Parse(lp) : null,
        };
    }

    private static KubeService Service(YamlMappingNode? meta, YamlMappingNode? spec, YamlMappingNode? status)
    {
        var clusterIps = Seq(spec, "clusterIPs").Select(Scalar).ToList();
        if (clusterIps.Count == 0 && Str(spec, "clusterIP") is string cip) clusterIps.Add(cip);
        return new KubeService(Str(meta, "namespace") ?? "default", Str(meta, "name") ?? "", Labels(meta))
        {
            ClusterIps = [.. clusterIps.Where(s => s != "None" && s != "").Select(IPAddress.Parse)],
            ExternalIps = [.. Seq(spec, "externalIPs").Select(n => IPAddress.Parse(Scalar(n)))],
            LoadBalancerIps = [.. Seq(Map(status, "loadBalancer"), "ingress").OfType<YamlMappingNode>()
                .Select(i => Str(i, "ip")).OfType<string>().Select(IPAddress.Parse)],
            ExternalTrafficPolicyLocal = Str(spec, "externalTrafficPolicy") == "Local",
            InternalTrafficPolicyLocal = Str(spec, "internalTrafficPolicy") == "Local",
        };
    }

    private static LabelSelector? Selector(YamlMappingNode? s)
    {
        if (s is null) return null;
        var labels = Map(s, "matchLabels")?.Children.ToDictionary(kv => Scalar(kv.Key), kv => Scalar(kv.Value)) ?? [];
        var exprs = Seq(s, "matchExpressions").OfType<YamlMappingNode>()
            .Select(e => new LabelRequirement(Str(e, "key") ?? "", Str(e, "operator") ?? "", [.. Seq(e, "values").Select(Scalar)]))
            .ToList();
        return new LabelSelector(labels, exprs);
    }

    private static Dictionary<string, string> Labels(YamlMappingNode? meta) =>
        Map(meta, "labels")?.Children.ToDictionary(kv => Scalar(kv.Key), kv => Scalar(kv.Value)) ?? [];

    private static YamlMappingNode? Map(YamlMappingNode? o, string key) =>
        o is not null && o.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v as YamlMappingNode : null;

    private static IEnumerable<YamlNode> Seq(YamlMappingNode? o, string key) =>
        o is not null && o.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlSequenceNode s ? s.Children : [];

    private static string? Str(YamlMappingNode? o, string key) =>
        o is not null && o.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    private static string Scalar(YamlNode n) => (n as YamlScalarNode)?.Value ?? throw new FormatException($"expected a scalar at {n.Start}");
}
