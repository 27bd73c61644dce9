using System.Net;

namespace Dataplane.Bgp.Session;

/// <summary>The speaker's own identity and listening socket.</summary>
public sealed record SpeakerConfig(uint LocalAs, IPAddress RouterId)
{
    /// <summary>Where to accept connections; null disables listening (active peers only).</summary>
    public IPEndPoint? Listen { get; init; } = new(IPAddress.IPv6Any, 179);
    /// <summary>Next hops for local routes whose family differs from the session's address family.</summary>
    public IPAddress? NextHop4 { get; init; }
    public IPAddress? NextHop6 { get; init; }
    /// <summary>Advertise graceful restart (RFC 4724) with this restart time; 0 disables it.</summary>
    public ushort GracefulRestartTime { get; init; } = 120;
    /// <summary>Set the Restart State bit: this speaker just restarted and peers holding our routes should
    /// keep them until our End-of-RIB.</summary>
    public bool Restarting { get; init; }
    /// <summary>Diagnostics sink (state changes, errors sent and received).</summary>
    public Action<string>? Log { get; init; }
}
