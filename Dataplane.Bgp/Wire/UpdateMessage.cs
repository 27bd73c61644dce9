using System.Net;

namespace Dataplane.Bgp.Wire;

/// <summary>
/// A decoded UPDATE: prefixes withdrawn and announced across both families (the IPv4 fields and
/// MP_REACH/MP_UNREACH merged), the attributes shared by the announced ones, and the next hop per family.
/// </summary>
public sealed class UpdateMessage
{
    public List<BgpPrefix> Withdrawn { get; } = [];
    public List<BgpPrefix> Announced { get; } = [];
    public PathAttributes Attributes { get; set; } = new();
    public IPAddress? NextHop4 { get; set; }
    public IPAddress? NextHop6 { get; set; }
    /// <summary>Set when this UPDATE is an End-of-RIB marker (RFC 4724 §2) for that family.</summary>
    public Family? EndOfRib { get; set; }

    /// <summary>The first <see cref="MpReachCount"/> entries of <see cref="Announced"/> came in MP_REACH_NLRI
    /// and use <see cref="MpNextHop"/>; the rest came in the IPv4 NLRI field and use NEXT_HOP.</summary>
    public int MpReachCount { get; set; }
    /// <summary>MP_REACH_NLRI's next hop. May be IPv6 for IPv4 prefixes: GoBGP sends that on IPv6-only
    /// sessions (the RFC 8950 encoding), and we accept it.</summary>
    public IPAddress? MpNextHop { get; set; }

    /// <summary>The next hop of the <paramref name="index"/>-th announced prefix.</summary>
    public IPAddress? NextHopAt(int index) => index < MpReachCount ? MpNextHop : NextHop4;
}
