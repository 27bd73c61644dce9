using System.Collections.Immutable;
using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.Core.L7;
using Dataplane.Core.Routing;

namespace Dataplane.Control.Compiler;

/// <summary>
/// HTTPRoutes (mesh form) into what the datapath and the node's proxy use: each parent Service's IPv4 cluster IPs and
/// ports (the parentRef's port, or every TCP port of the Service) become frontends redirected to the proxy, and each
/// backendRef its Service's first IPv4 cluster IP with the port and weight. A parent that does not exist attaches
/// nothing (it may come later, as in Kubernetes); a backend that does not exist stays in the rule with address 0, so
/// its share of the requests gets 500 (the Gateway API's answer for an invalid backendRef). A frontend two routes
/// claim goes to the first route in source order.
/// </summary>
public static class HttpRouteCompiler
{
    public static ProxyTarget Attach(ConfigModel model, ProxyTarget proxy)
    {
        if (model.HttpRoutes.IsEmpty) return proxy;
        var routes = ImmutableArray.CreateBuilder<HttpRoute>();
        var frontends = new List<RouteFrontend>();
        foreach (var r in model.HttpRoutes)
        {
            ushort index = (ushort)(routes.Count + 1);
            var rules = r.Rules.Select(rule => new RouteRule(rule.Matches,
                [.. rule.Backends.Select(b => new RouteBackend(b.Service, ClusterIp(model, r.Namespace, b.Service), b.Port, b.Weight))]));
            routes.Add(new HttpRoute($"{r.Namespace}/{r.Name}", [.. rules]));
            foreach (var parent in r.Parents)
            {
                var svc = model.Services.FirstOrDefault(s => s.Namespace == r.Namespace && s.Name == parent.Service);
                if (svc is null) continue;
                foreach (var ip in svc.ClusterIps.Where(a => a.AddressFamily == AddressFamily.InterNetwork))
                    foreach (var port in svc.Ports.Where(p => p.Protocol == Core.Parsing.IpProtocols.Tcp && (parent.Port is null || p.Port == parent.Port)))
                    {
                        uint address = RoutePrefix.ToUInt32(ip);
                        if (!frontends.Any(f => f.Address == address && f.Port == port.Port))
                            frontends.Add(new RouteFrontend(address, port.Port, index));
                    }
            }
        }
        return proxy with { Routes = routes.ToImmutable(), Frontends = [.. frontends] };
    }

    private static uint ClusterIp(ConfigModel model, string ns, string name) =>
        model.Services.FirstOrDefault(s => s.Namespace == ns && s.Name == name)?.ClusterIps
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) is { } ip ? RoutePrefix.ToUInt32(ip) : 0;
}
