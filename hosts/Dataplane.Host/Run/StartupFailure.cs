namespace Dataplane.Host.Run;

/// <summary>
/// The exit codes of `run` (dataplane-node and dataplane-gateway alike; documented in docs/node-agent.md). Every
/// code but 0 and 1 is a start-up failure found before the first packet is forwarded, printed as one line
/// <c>PROGRAM: WHAT: WHY</c> on stderr.
/// </summary>
public static class RunExit
{
    public const int Stopped = 0;
    /// <summary>A worker failed while forwarding, or a start-up failure of no other kind.</summary>
    public const int Failed = 1;
    /// <summary>The config directory is missing or does not validate (or the Cluster Mesh file).</summary>
    public const int Config = 2;
    /// <summary>Another agent holds the API socket or one of the interfaces.</summary>
    public const int Conflict = 3;
    /// <summary>A node interface the config names does not exist.</summary>
    public const int Interface = 4;
    /// <summary>The API socket cannot be created: its directory cannot be made or written, or the path is too long.</summary>
    public const int ApiSocket = 5;
    /// <summary>The metrics address and port cannot be bound (taken, or not an address of this host).</summary>
    public const int Metrics = 6;
    /// <summary>The state directory cannot be made or written.</summary>
    public const int StateDir = 7;
    /// <summary>--ct-dir cannot hold the conntrack tables (missing, not a tmpfs, not writable).</summary>
    public const int ConntrackDir = 8;
    /// <summary>The backend refused to start (DPDK's EAL, the eBPF program, a socket on an interface).</summary>
    public const int Backend = 9;
}

/// <summary>A start-up failure: what could not be used (an option and its value, an interface) and why, and the exit code.</summary>
public sealed class StartupFailure(int exitCode, string what, string why) : Exception($"{what}: {why}")
{
    public int ExitCode { get; } = exitCode;
    public string What { get; } = what;
    public string Why { get; } = why;

    /// <summary>The line on stderr: one line, whatever the message quoted (a YAML error listing several files).</summary>
    public string Line(string program) => OneLine($"{program}: {What}: {Why}");

    public static string OneLine(string s) =>
        string.Join("; ", s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
