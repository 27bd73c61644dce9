using System.Net;
using System.Net.Sockets;

namespace Dataplane.Core.Routing;

/// <summary>
/// The canonical order of routes: family (IPv4 first), prefix length, address as a number, then the order they were
/// given in. Snapshots list their routes so, which makes two route lists comparable by a merge; a key is computed
/// once per route, so sorting a million learned routes converts no address per comparison.
/// </summary>
public readonly struct RouteOrder(IPNetwork prefix, int order) : IComparable<RouteOrder>
{
    private readonly bool _v6 = prefix.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;
    private readonly int _length = prefix.PrefixLength;
    private readonly UInt128 _address = Number(prefix.BaseAddress);
    private readonly int _order = order;

    public int CompareTo(RouteOrder other)
    {
        int c = _v6.CompareTo(other._v6);
        if (c == 0) c = _length.CompareTo(other._length);
        if (c == 0) c = _address.CompareTo(other._address);
        return c != 0 ? c : _order.CompareTo(other._order);
    }

    /// <summary>The same prefix (order aside).</summary>
    public bool SamePrefix(RouteOrder other) => _v6 == other._v6 && _length == other._length && _address == other._address;

    private static UInt128 Number(IPAddress a) =>
        a.AddressFamily == AddressFamily.InterNetwork ? RoutePrefix.ToUInt32(a) : RoutePrefix.ToUInt128(a);
}
