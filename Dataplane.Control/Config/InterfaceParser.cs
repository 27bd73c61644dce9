using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;

namespace Dataplane.Control.Config;

/// <summary>Reads and checks DataplaneNode spec.interfaces.</summary>
internal static class InterfaceParser
{
    public const int DefaultMtu = 1500;
    public const int MinMtu = 68;          // RFC 791: every IPv4 link must carry 68 bytes
    public const int MaxMtu = 65535;
    public const int MinIpv6Mtu = 1280;    // RFC 8200 §5

    public static ImmutableArray<InterfaceSpec> ParseAll(YNode list, MacRegistry macs)
    {
        var result = ImmutableArray.CreateBuilder<InterfaceSpec>();
        var names = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        var addresses = new Dictionary<IPAddress, string>();
        foreach (var item in list.Items())
        {
            item.AllowOnly("name", "mac", "addresses", "mtu");
            var nameNode = item.Get("name");
            var name = nameNode.String();
            if (!IsValidIfName(name))
                throw nameNode.Error($"invalid interface name '{name}' (1-15 characters, no '/', ':' or whitespace)");
            if (names.TryGetValue(name, out var firstAt))
                throw nameNode.Error($"duplicate interface name '{name}' (first defined at {firstAt})");
            names.Add(name, nameNode.At);

            var macNode = item.Get("mac");
            var mac = macNode.Mac();
            macs.Add(mac, macNode.At, $"interface {name}", $"{macNode.Path}: ");

            var addrs = ImmutableArray.CreateBuilder<IfAddress>();
            if (item.TryGet("addresses", out var addrList))
            {
                foreach (var a in addrList.Items())
                {
                    var addr = a.IfAddress();
                    if (addresses.TryGetValue(addr.Address, out var owner))
                        throw a.Error($"address {addr.Address} is already assigned to interface {owner}");
                    addresses.Add(addr.Address, name);
                    addrs.Add(addr);
                }
            }

            int mtu = DefaultMtu;
            if (item.TryGet("mtu", out var mtuNode))
            {
                mtu = mtuNode.Int(MinMtu, MaxMtu);
                if (mtu < MinIpv6Mtu && addrs.Any(a => a.Address.AddressFamily == AddressFamily.InterNetworkV6))
                    throw mtuNode.Error($"mtu {mtu} is below the IPv6 minimum of {MinIpv6Mtu} on an interface with IPv6 addresses");
            }

            result.Add(new InterfaceSpec(name, mac, addrs.ToImmutable(), mtu, item.At));
        }
        return result.ToImmutable();
    }

    /// <summary>Linux dev_valid_name(): 1..15 bytes (IFNAMSIZ-1), not "." or "..", no '/', ':' or whitespace.</summary>
    public static bool IsValidIfName(string name) =>
        name.Length is > 0 and < 16 && name is not "." and not ".."
        && name.All(c => c > ' ' && c < 0x7F && c != '/' && c != ':');

    /// <summary>Interfaces that have a connected subnet containing <paramref name="ip"/>.</summary>
    public static List<InterfaceSpec> Connected(ImmutableArray<InterfaceSpec> interfaces, IPAddress ip) =>
        interfaces.Where(i => i.Addresses.Any(a => a.Network.Contains(ip))).ToList();
}
