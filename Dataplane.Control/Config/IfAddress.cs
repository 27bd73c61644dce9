using System.Net;

namespace Dataplane.Control.Config;

/// <summary>
/// An address assigned to an interface together with its on-link prefix ("198.18.0.1/24"), like
/// `ip addr` shows it: the host bits are the point, and <see cref="Network"/> is the connected subnet.
/// </summary>
public readonly record struct IfAddress(IPAddress Address, int PrefixLength)
{
    public IPNetwork Network => IpText.Network(Address, PrefixLength);

    public override string ToString() => $"{Address}/{PrefixLength}";
}
