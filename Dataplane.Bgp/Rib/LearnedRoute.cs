using System.Net;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Rib;

/// <summary>Who a route was learned from: what best-path selection needs to know about the peer.</summary>
public sealed record PeerIdentity(IPAddress Address, uint As, uint RouterId, bool Internal);

/// <summary>A path received from a peer (one entry of its Adj-RIB-In).</summary>
public sealed record LearnedRoute(BgpPrefix Prefix, IPAddress NextHop, PathAttributes Attributes, PeerIdentity Peer)
{
    /// <summary>Kept across the peer's graceful restart until it re-announces the route or sends
    /// End-of-RIB (RFC 4724 §4.2).</summary>
    public bool Stale { get; init; }

    /// <summary>LOCAL_PREF as selection uses it: received on iBGP, our default (100) on eBGP, where a
    /// received LOCAL_PREF must be ignored (RFC 4271 §5.1.5).</summary>
    public uint EffectiveLocalPref => Peer.Internal ? Attributes.LocalPref ?? 100 : 100;
}
