namespace Dataplane.WireGuard.Peers;

/// <summary>
/// The protocol's time and message limits (whitepaper §6.1). The defaults are the specification's; tests and
/// operators may shorten the times (e.g. to watch a rekey), never the message limits' meaning.
/// </summary>
public sealed record WireGuardTimers
{
    public ulong RekeyAfterMessages { get; init; } = 1UL << 60;
    public ulong RejectAfterMessages { get; init; } = ulong.MaxValue - (1UL << 13);
    public TimeSpan RekeyAfterTime { get; init; } = TimeSpan.FromSeconds(120);
    public TimeSpan RejectAfterTime { get; init; } = TimeSpan.FromSeconds(180);
    public TimeSpan RekeyAttemptTime { get; init; } = TimeSpan.FromSeconds(90);
    public TimeSpan RekeyTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan KeepaliveTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long a cookie received in a cookie reply stays usable for mac2, and how often the secret behind the cookies we hand out changes.</summary>
    public TimeSpan CookieRefreshTime { get; init; } = TimeSpan.FromSeconds(120);

    public static WireGuardTimers Default { get; } = new();

    /// <summary>Receive-side rekey point for a session we initiated: Reject-After-Time − Keepalive-Timeout − Rekey-Timeout.</summary>
    public TimeSpan RekeyOnReceiveAge => RejectAfterTime - KeepaliveTimeout - RekeyTimeout;
}
