namespace Dataplane.Bgp.Wire;

/// <summary>Address family identifiers (IANA) used in MP-BGP (RFC 4760).</summary>
public enum Afi : ushort
{
    Ipv4 = 1,
    Ipv6 = 2,
}

/// <summary>Subsequent address family identifiers; we speak unicast only.</summary>
public enum Safi : byte
{
    Unicast = 1,
}

/// <summary>An AFI/SAFI pair, the unit MP-BGP negotiates and End-of-RIB marks.</summary>
public readonly record struct Family(Afi Afi, Safi Safi)
{
    public static readonly Family Ipv4Unicast = new(Afi.Ipv4, Safi.Unicast);
    public static readonly Family Ipv6Unicast = new(Afi.Ipv6, Safi.Unicast);
    public override string ToString() => $"{Afi}/{Safi}";
}
