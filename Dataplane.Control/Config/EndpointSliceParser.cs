using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.Core.Parsing;

namespace Dataplane.Control.Config;

/// <summary>
/// <c>discovery.k8s.io/v1 EndpointSlice</c>: the owning service (label kubernetes.io/service-name), address type,
/// endpoints (addresses, conditions ready/serving/terminating with Kubernetes' defaults, nodeName) and ports by
/// name. FQDN slices carry no addresses the datapath can use and are rejected.
/// </summary>
internal static class EndpointSliceParser
{
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    public static void Parse(ConfigDocument doc, ModelBuilder into)
    {
        var labels = MetadataReader.Labels(doc);
        if (!labels.TryGetValue(ServiceNameLabel, out var service) || service.Length == 0)
            throw doc.NameNode.Error($"an EndpointSlice needs the label {ServiceNameLabel} naming its service");

        var typeNode = doc.Root.Get("addressType");
        bool v6 = typeNode.String() switch
        {
            "IPv4" => false,
            "IPv6" => true,
            "FQDN" => throw typeNode.Error("addressType FQDN is not supported (no addresses to balance to)"),
            var x => throw typeNode.Error($"must be IPv4 or IPv6, got '{x}'"),
        };

        var endpoints = ImmutableArray.CreateBuilder<SliceEndpointSpec>();
        if (doc.Root.TryGet("endpoints", out var eps))
        {
            foreach (var e in eps.Items())
            {
                var addrs = ImmutableArray.CreateBuilder<IPAddress>();
                var list = e.Get("addresses");
                foreach (var a in list.Items())
                {
                    var ip = a.Ip();
                    if ((ip.AddressFamily == AddressFamily.InterNetworkV6) != v6)
                        throw a.Error($"address {ip} does not match addressType {(v6 ? "IPv6" : "IPv4")}");
                    addrs.Add(ip);
                }
                if (addrs.Count == 0) throw list.Error("an endpoint needs at least one address");
                // Kubernetes: an unset ready or serving condition means true (unknown is treated as ready);
                // unset terminating means false.
                bool ready = true, serving = true, terminating = false;
                if (e.TryGet("conditions", out var c))
                {
                    if (c.TryGet("ready", out var r)) ready = Bool(r);
                    if (c.TryGet("serving", out var s)) serving = Bool(s);
                    else serving = ready;
                    if (c.TryGet("terminating", out var t)) terminating = Bool(t);
                }
                endpoints.Add(new SliceEndpointSpec(addrs.ToImmutable(), ready, serving, terminating,
                    e.OptString("nodeName") ?? "", e.At));
            }
        }

        var ports = ImmutableArray.CreateBuilder<SlicePortSpec>();
        if (doc.Root.TryGet("ports", out var pl))
        {
            foreach (var p in pl.Items())
            {
                var name = p.OptString("name") ?? "";
                if (ports.Any(x => x.Name == name)) throw p.Error($"duplicate port name '{name}'");
                byte proto = IpProtocols.Tcp;
                if (p.TryGet("protocol", out var pr))
                {
                    proto = pr.String() switch
                    {
                        "TCP" => IpProtocols.Tcp,
                        "UDP" => IpProtocols.Udp,
                        "SCTP" => IpProtocols.Sctp,
                        var x => throw pr.Error($"must be TCP, UDP or SCTP, got '{x}'"),
                    };
                }
                ports.Add(new SlicePortSpec(name, proto, (ushort)p.Get("port").Int(1, 65535)));
            }
        }

        into.EndpointSlices.Add(new EndpointSliceSpec(doc.Namespace, doc.Name, service, v6, endpoints.ToImmutable(),
            ports.ToImmutable(), doc.Source));
    }

    private static bool Bool(YNode n) => n.String() switch
    {
        "true" => true,
        "false" => false,
        var x => throw n.Error($"expected true or false, got '{x}'"),
    };
}
