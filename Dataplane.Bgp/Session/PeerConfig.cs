using System.Net;

namespace Dataplane.Bgp.Session;

/// <summary>One configured neighbour. Same AS as the speaker means iBGP.</summary>
public sealed record PeerConfig(IPAddress Address, uint RemoteAs)
{
    /// <summary>TCP port of the peer when we connect (179; tests use others).</summary>
    public int Port { get; init; } = 179;
    /// <summary>Passive peers are only accepted, never connected to.</summary>
    public bool Passive { get; init; }
    /// <summary>Our proposed hold time in seconds (0 disables keepalives, else ≥ 3).</summary>
    public ushort HoldTime { get; init; } = 90;
    /// <summary>ConnectRetryTimer (RFC 4271 suggests 120 s; shorter reconnects faster after a restart).</summary>
    public TimeSpan ConnectRetry { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Source address for outgoing connections; null lets the kernel choose.</summary>
    public IPAddress? LocalAddress { get; init; }
    /// <summary>TCP MD5 signature password (RFC 2385); null for none.</summary>
    public string? Password { get; init; }
    /// <summary>Graceful-restart time to advertise to this peer; null uses the speaker's, 0 disables.</summary>
    public ushort? GracefulRestartTime { get; init; }
}
