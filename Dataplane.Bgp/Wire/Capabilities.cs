namespace Dataplane.Bgp.Wire;

/// <summary>Capability codes we understand (RFC 5492 registry).</summary>
public enum CapabilityCode : byte
{
    Multiprotocol = 1,
    RouteRefresh = 2,
    GracefulRestart = 64,
    FourOctetAs = 65,
}

/// <summary>One address family in a graceful-restart capability (RFC 4724 §3): whether the peer kept its
/// forwarding state for it across the restart.</summary>
public readonly record struct GracefulRestartFamily(Family Family, bool ForwardingPreserved);

/// <summary>The graceful-restart capability: restart-state bit, restart time and the families it covers.</summary>
public sealed record GracefulRestartCapability(bool Restarting, ushort RestartTimeSeconds, IReadOnlyList<GracefulRestartFamily> Families);

/// <summary>The capabilities one side advertised in its OPEN.</summary>
public sealed record Capabilities
{
    public IReadOnlyList<Family> Families { get; init; } = [];
    public bool RouteRefresh { get; init; }
    /// <summary>The 4-octet AS number (RFC 6793) when advertised.</summary>
    public uint? FourOctetAs { get; init; }
    public GracefulRestartCapability? GracefulRestart { get; init; }
}
