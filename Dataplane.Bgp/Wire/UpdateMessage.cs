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

    public IPAddress? NextHopFor(BgpPrefix p) => p.IsIpv4 ? NextHop4 : NextHop6;
}
