using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// Reads DataplaneNode spec.routes. A route is usable only if its gateway is on a connected subnet (its MAC is
/// resolved by ARP/ND, or taken from spec.neighbors when listed there); that is checked here so a route that could
/// never forward is rejected at load time.
/// </summary>
internal static class RouteParser
{
    public static ImmutableArray<RouteSpec> ParseAll(YNode list, ImmutableArray<InterfaceSpec> interfaces)
    {
        var result = ImmutableArray.CreateBuilder<RouteSpec>();
        var seen = new Dictionary<IPNetwork, SourceLocation>();
        foreach (var item in list.Items())
        {
            item.AllowOnly("destination", "via", "interface");
            var destNode = item.Get("destination");
            var dest = destNode.Cidr();
            if (seen.TryGetValue(dest, out var firstAt))
                throw destNode.Error($"duplicate route to {dest} (first defined at {firstAt})");
            seen.Add(dest, destNode.At);

            string? ifName = null;
            if (item.TryGet("interface", out var ifNode))
            {
                ifName = ifNode.String();
                if (!interfaces.Any(i => i.Name == ifName))
                    throw ifNode.Error($"unknown interface '{ifName}'");
            }

            IPAddress? via = null;
            if (item.TryGet("via", out var viaNode))
            {
                via = viaNode.Ip();
                ifName = ResolveGateway(viaNode, via, dest, ifName, interfaces);
            }
            else if (ifName is null)
            {
                throw item.Error("route needs 'via', 'interface' or both");
            }

            result.Add(new RouteSpec(dest, via, ifName, item.At));
        }
        return result.ToImmutable();
    }

    /// <summary>Checks the gateway is on a connected subnet; returns the interface it is reached through.</summary>
    private static string ResolveGateway(YNode viaNode, IPAddress via, IPNetwork dest, string? ifName,
        ImmutableArray<InterfaceSpec> interfaces)
    {
        if (via.AddressFamily != dest.BaseAddress.AddressFamily)
            throw viaNode.Error($"gateway {via} is not the same address family as destination {dest}");

        var connected = InterfaceParser.Connected(interfaces, via);
        if (ifName is not null)
        {
            if (!connected.Any(i => i.Name == ifName))
                throw viaNode.Error($"gateway {via} is not inside a connected subnet of interface {ifName}");
        }
        else
        {
            ifName = connected.Count switch
            {
                1 => connected[0].Name,
                0 => throw viaNode.Error($"gateway {via} is not inside any connected interface subnet"),
                _ => throw viaNode.Error($"gateway {via} is in the subnets of several interfaces " +
                                         $"({string.Join(", ", connected.Select(c => c.Name))}); set 'interface'"),
            };
        }
        return ifName;
    }
}
