using System.Collections.Immutable;
using System.Net;

namespace Dataplane.Control.Config;

/// <summary>Reads DataplaneNode spec.neighbors, resolving each entry's interface.</summary>
internal static class NeighborParser
{
    public static ImmutableArray<NeighborSpec> ParseAll(YNode list, ImmutableArray<InterfaceSpec> interfaces)
    {
        var result = ImmutableArray.CreateBuilder<NeighborSpec>();
        var seen = new Dictionary<(IPAddress, string), SourceLocation>();
        foreach (var item in list.Items())
        {
            item.AllowOnly("ip", "mac", "interface");
            var ipNode = item.Get("ip");
            var ip = ipNode.Ip();
            var mac = item.Get("mac").Mac();

            if (interfaces.Any(i => i.Addresses.Any(a => a.Address.Equals(ip))))
                throw ipNode.Error($"neighbor {ip} is one of this node's own interface addresses");

            string ifName;
            if (item.TryGet("interface", out var ifNode))
            {
                ifName = ifNode.String();
                if (!interfaces.Any(i => i.Name == ifName))
                    throw ifNode.Error($"unknown interface '{ifName}'");
            }
            else
            {
                // Without an interface, a static neighbour is placed by the subnet it lives in.
                var candidates = InterfaceParser.Connected(interfaces, ip);
                ifName = candidates.Count switch
                {
                    1 => candidates[0].Name,
                    0 => throw ipNode.Error($"no interface has a subnet containing neighbor {ip}; set 'interface'"),
                    _ => throw ipNode.Error($"neighbor {ip} is in the subnets of several interfaces " +
                                            $"({string.Join(", ", candidates.Select(c => c.Name))}); set 'interface'"),
                };
            }

            if (seen.TryGetValue((ip, ifName), out var firstAt))
                throw ipNode.Error($"duplicate neighbor {ip} on interface {ifName} (first defined at {firstAt})");
            seen.Add((ip, ifName), ipNode.At);
            result.Add(new NeighborSpec(ip, mac, ifName, item.At));
        }
        return result.ToImmutable();
    }
}
