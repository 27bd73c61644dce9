using System.Net;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Rib;

/// <summary>
/// A route this speaker originates. <see cref="NextHop"/> null means "ourselves": the local address of
/// each session (or the speaker's configured next hop for the other family).
/// </summary>
public sealed record LocalRoute(BgpPrefix Prefix, IPAddress? NextHop = null)
{
    public IReadOnlyList<uint> Communities { get; init; } = [];
    /// <summary>Sent to iBGP peers only (default 100); eBGP peers never see LOCAL_PREF.</summary>
    public uint? LocalPref { get; init; }
    public uint? MultiExitDisc { get; init; }
    public Origin Origin { get; init; } = Origin.Igp;
}
