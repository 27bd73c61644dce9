namespace Dataplane.Core.Conntrack;

/// <summary>
/// Connection lifetimes in seconds, defaulting to cilium-agent's: --bpf-ct-timeout-regular-tcp 6h,
/// -tcp-syn 1m, -tcp-fin 10s, -any 1m.
/// </summary>
public sealed record CtTimeouts(uint TcpEstablished = 6 * 3600, uint TcpSyn = 60, uint TcpClose = 10, uint NonTcp = 60)
{
    public static CtTimeouts Default { get; } = new();
}
