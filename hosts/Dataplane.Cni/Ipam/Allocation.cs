using System.Net;
using System.Net.Sockets;

namespace Dataplane.Cni.Ipam;

/// <summary>One address of an attachment: its subnet, the address, and the gateway the pod routes through (if any).</summary>
public sealed record Allocation(IPNetwork Subnet, IPAddress Address, IPAddress? Gateway);

/// <summary>A route the pod gets: to <see cref="Destination"/> via <see cref="Gateway"/> (null: the gateway of its family).</summary>
public sealed record PodRoute(IPNetwork Destination, IPAddress? Gateway)
{
    public static readonly IPNetwork DefaultV4 = new(IPAddress.Any, 0);
    public static readonly IPNetwork DefaultV6 = new(IPAddress.IPv6Any, 0);

    /// <summary>The built-in IPAM's routes: per address family, the default route via that subnet's gateway.</summary>
    public static List<PodRoute> Defaults(IEnumerable<Allocation> ips) =>
        [.. ips.Where(a => a.Gateway is not null)
            .Select(a => new PodRoute(a.Address.AddressFamily == AddressFamily.InterNetwork ? DefaultV4 : DefaultV6, a.Gateway))];

    /// <summary>The gateway this route uses in the pod: its own, else the first allocation's of its family.</summary>
    public IPAddress? GatewayFrom(IEnumerable<Allocation> ips) =>
        Gateway ?? ips.FirstOrDefault(a => a.Address.AddressFamily == Destination.BaseAddress.AddressFamily && a.Gateway is not null)?.Gateway;
}
