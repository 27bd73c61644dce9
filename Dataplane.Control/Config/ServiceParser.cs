using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Parsing;

namespace Dataplane.Control.Config;

/// <summary>
/// Kubernetes <c>v1 Service</c>: type, cluster IPs (None = headless), external IPs, load-balancer ingress IPs,
/// ports (protocol, port, targetPort by number or name, nodePort in 30000–32767), session affinity, traffic
/// policies and Cilium's <c>service.cilium.io/lb-algorithm</c> annotation. Read leniently like the other
/// Kubernetes kinds (unknown fields ignored), strictly for the fields it uses.
/// </summary>
internal static class ServiceParser
{
    public const string LbAlgorithmAnnotation = "service.cilium.io/lb-algorithm";
    public const int NodePortMin = 30000, NodePortMax = 32767;
    /// <summary>Kubernetes' default and maximum sessionAffinityConfig.clientIP.timeoutSeconds.</summary>
    public const int DefaultAffinityTimeout = 10800, MaxAffinityTimeout = 86400;

    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var spec = doc.Root.Get("spec");
        var type = ServiceType.ClusterIP;
        if (spec.TryGet("type", out var t))
        {
            type = t.String() switch
            {
                "ClusterIP" => ServiceType.ClusterIP,
                "NodePort" => ServiceType.NodePort,
                "LoadBalancer" => ServiceType.LoadBalancer,
                "ExternalName" => throw t.Error("type ExternalName is DNS-only and has no datapath; it is not supported"),
                var x => throw t.Error($"must be ClusterIP, NodePort or LoadBalancer, got '{x}'"),
            };
        }

        var clusterIps = ClusterIps(spec);
        bool allocate = clusterIps.IsEmpty && !IsNone(spec);
        var externalIps = IpList(spec, "externalIPs");
        var lbIps = ImmutableArray.CreateBuilder<IPAddress>();
        if (doc.Root.TryGet("status", out var status) && status.TryGet("loadBalancer", out var lb) && lb.TryGet("ingress", out var ingress))
        {
            foreach (var item in ingress.Items())
            {
                // Hostname-only ingress entries (some cloud LBs) carry no address the datapath could match.
                if (!item.TryGet("ip", out var ipNode)) continue;
                var ip = ipNode.Ip();
                if (lbIps.Contains(ip)) throw ipNode.Error($"duplicate load-balancer ingress IP {ip}");
                lbIps.Add(ip);
            }
        }
        if (type != ServiceType.LoadBalancer && lbIps.Count > 0)
            throw status.Get("loadBalancer").Error($"status.loadBalancer.ingress is only used by type LoadBalancer (this service is {type})");

        var ports = Ports(spec.Get("ports"), type);

        bool affinity = false;
        uint timeout = DefaultAffinityTimeout;
        if (spec.TryGet("sessionAffinity", out var sa))
        {
            affinity = sa.String() switch
            {
                "None" => false,
                "ClientIP" => true,
                var x => throw sa.Error($"must be None or ClientIP, got '{x}'"),
            };
        }
        if (spec.TryGet("sessionAffinityConfig", out var sac) && sac.TryGet("clientIP", out var cip) && cip.TryGet("timeoutSeconds", out var ts))
        {
            if (!affinity) throw ts.Error("timeoutSeconds needs sessionAffinity: ClientIP");
            timeout = (uint)ts.Int(1, MaxAffinityTimeout);
        }

        bool etpLocal = TrafficPolicy(spec, "externalTrafficPolicy");
        if (spec.TryGet("externalTrafficPolicy", out var etp) && type == ServiceType.ClusterIP && externalIps.IsEmpty)
            throw etp.Error("externalTrafficPolicy applies only to NodePort, LoadBalancer or external IPs");
        bool itpLocal = TrafficPolicy(spec, "internalTrafficPolicy");

        var algorithm = LbAlgorithm.Default;
        if (doc.Metadata.TryGet("annotations", out var ann) && ann.TryGet(LbAlgorithmAnnotation, out var alg))
        {
            algorithm = alg.String() switch
            {
                "maglev" => LbAlgorithm.Maglev,
                "random" => LbAlgorithm.Random,
                var x => throw alg.Error($"{LbAlgorithmAnnotation} must be maglev or random, got '{x}'"),
            };
        }

        into.Services.Add(new ServiceSpec(doc.Namespace, doc.Name, type, clusterIps, externalIps, lbIps.ToImmutable(),
            ports, affinity, timeout, etpLocal, itpLocal, algorithm, doc.Source) { Annotations = MetadataReader.Annotations(doc), Labels = MetadataReader.Labels(doc), Selector = Selector(spec),
              ClusterIpRequest = allocate ? FamilyRequest(spec) : null });
    }

    private static bool IsNone(YNode spec) =>
        (spec.TryGet("clusterIP", out var c) && c.String() == "None")
        || (spec.TryGet("clusterIPs", out var l) && l.Items().Any(i => i.String() == "None"));

    /// <summary>spec.ipFamilyPolicy and spec.ipFamilies of a service whose cluster IPs are to be allocated.</summary>
    private static ClusterIpRequest FamilyRequest(YNode spec)
    {
        var policy = IpFamilyPolicy.SingleStack;
        if (spec.TryGet("ipFamilyPolicy", out var p))
            policy = p.String() switch
            {
                "SingleStack" => IpFamilyPolicy.SingleStack,
                "PreferDualStack" => IpFamilyPolicy.PreferDualStack,
                "RequireDualStack" => IpFamilyPolicy.RequireDualStack,
                var x => throw p.Error($"must be SingleStack, PreferDualStack or RequireDualStack, got '{x}'"),
            };
        var families = ImmutableArray.CreateBuilder<System.Net.Sockets.AddressFamily>();
        if (spec.TryGet("ipFamilies", out var fams))
            foreach (var f in fams.Items())
            {
                var family = f.String() switch
                {
                    "IPv4" => System.Net.Sockets.AddressFamily.InterNetwork,
                    "IPv6" => System.Net.Sockets.AddressFamily.InterNetworkV6,
                    var x => throw f.Error($"must be IPv4 or IPv6, got '{x}'"),
                };
                if (families.Contains(family)) throw f.Error($"{f.String()} is listed twice");
                families.Add(family);
            }
        if (policy == IpFamilyPolicy.SingleStack && families.Count > 1)
            throw fams.Error("ipFamilyPolicy SingleStack takes one family");
        return new ClusterIpRequest(policy, families.ToImmutable(), spec.At);
    }

    /// <summary>spec.selector (a plain label map, as Services have it); absent or empty = no selector.</summary>
    private static ImmutableSortedDictionary<string, string>? Selector(YNode spec)
    {
        if (!spec.TryGet("selector", out var sel) || sel.IsNull) return null;
        var labels = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in sel.Entries()) labels[k.String()] = v.String();
        return labels.Count == 0 ? null : labels.ToImmutable();
    }

    private static bool TrafficPolicy(YNode spec, string key)
    {
        if (!spec.TryGet(key, out var n)) return false;
        return n.String() switch
        {
            "Cluster" => false,
            "Local" => true,
            var x => throw n.Error($"must be Cluster or Local, got '{x}'"),
        };
    }

    /// <summary>spec.clusterIPs (or the legacy spec.clusterIP copy of its first entry); "None" = headless.</summary>
    private static ImmutableArray<IPAddress> ClusterIps(YNode spec)
    {
        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        bool none = false;
        if (spec.TryGet("clusterIPs", out var list))
        {
            foreach (var item in list.Items())
            {
                if (item.String() == "None") { none = true; continue; }
                var ip = item.Ip();
                if (ips.Any(x => x.AddressFamily == ip.AddressFamily))
                    throw item.Error($"clusterIPs holds at most one address per family ({ip} repeats one)");
                ips.Add(ip);
            }
            if (none && ips.Count > 0) throw list.Error("clusterIPs: None cannot be combined with addresses");
        }
        if (spec.TryGet("clusterIP", out var single))
        {
            if (single.String() == "None")
            {
                if (ips.Count > 0) throw single.Error("clusterIP None but clusterIPs has addresses");
                none = true;
            }
            else
            {
                var ip = single.Ip();
                if (ips.Count == 0) ips.Add(ip);
                else if (!ips[0].Equals(ip)) throw single.Error($"spec.clusterIP {ip} must equal spec.clusterIPs[0] ({ips[0]})");
            }
        }
        // No address and not None: allocated from the ServiceCIDRs, as the API server does (ServiceIpam).
        return ips.ToImmutable();
    }

    private static ImmutableArray<IPAddress> IpList(YNode spec, string key)
    {
        var ips = ImmutableArray.CreateBuilder<IPAddress>();
        if (spec.TryGet(key, out var list))
        {
            foreach (var item in list.Items())
            {
                var ip = item.Ip();
                if (ips.Contains(ip)) throw item.Error($"duplicate address {ip}");
                ips.Add(ip);
            }
        }
        return ips.ToImmutable();
    }

    private static ImmutableArray<ServicePortSpec> Ports(YNode list, ServiceType type)
    {
        var ports = ImmutableArray.CreateBuilder<ServicePortSpec>();
        var items = list.Items().ToList();
        if (items.Count == 0) throw list.Error("a service needs at least one port");
        foreach (var p in items)
        {
            var name = p.OptString("name") ?? "";
            if (items.Count > 1 && name.Length == 0) throw p.Error("every port needs a name when a service has several");
            if (name.Length > 0 && ports.Any(x => x.Name == name)) throw p.Get("name").Error($"duplicate port name '{name}'");
            byte proto = IpProtocols.Tcp;
            if (p.TryGet("protocol", out var pr))
            {
                proto = pr.String() switch
                {
                    "TCP" => IpProtocols.Tcp,
                    "UDP" => IpProtocols.Udp,
                    "SCTP" => throw pr.Error("SCTP services are not supported by the dataplane (no incremental CRC32c NAT)"),
                    var x => throw pr.Error($"must be TCP or UDP, got '{x}'"),
                };
            }
            var portNode = p.Get("port");
            var port = (ushort)portNode.Int(1, 65535);
            if (ports.Any(x => x.Port == port && x.Protocol == proto))
                throw portNode.Error($"port {port}/{(proto == IpProtocols.Tcp ? "TCP" : "UDP")} is listed twice");

            ushort target = port;
            string? targetName = null;
            if (p.TryGet("targetPort", out var tp))
            {
                var text = tp.String();
                if (text.Length > 0 && char.IsAsciiDigit(text[0])) target = (ushort)tp.Int(1, 65535);
                else if (IsPortName(text)) { targetName = text; target = 0; }
                else throw tp.Error($"targetPort must be a number 1..65535 or a port name (IANA_SVC_NAME), got '{text}'");
            }

            ushort nodePort = 0;
            if (p.TryGet("nodePort", out var np))
            {
                if (type == ServiceType.ClusterIP) throw np.Error("nodePort is only valid for type NodePort or LoadBalancer");
                nodePort = (ushort)np.Int(NodePortMin, NodePortMax);
            }
            // type NodePort without one: allocated from 30000-32767 (ServiceIpam), as the API server does.
            ports.Add(new ServicePortSpec(name, proto, port, target, targetName, nodePort, p.At));
        }
        return ports.ToImmutable();
    }

    /// <summary>IANA_SVC_NAME as Kubernetes validates it: 1–15 lower-case alphanumerics or '-', a letter, no "--", no '-' at the ends.</summary>
    public static bool IsPortName(string s) =>
        s.Length is > 0 and <= 15 && s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
        && s.Any(char.IsAsciiLetterLower) && !s.Contains("--") && s[0] != '-' && s[^1] != '-';
}
