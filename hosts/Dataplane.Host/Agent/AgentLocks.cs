namespace Dataplane.Host.Agent;

/// <summary>
/// One agent per interface and per API socket. Before anything is attached, the agent takes an exclusive
/// flock on a lock file per interface — under <see cref="LockDir"/>, named by the network namespace (its inode)
/// and the interface name, since names are per namespace — and one beside its API socket. A second agent finds
/// a lock held, names the holder's pid and exits; the locks go with the process (even under kill -9), so a
/// stale file never blocks a restart.
/// </summary>
internal sealed class AgentLocks : IDisposable
{
    public const string LockDir = "/run/dataplane/locks";

    private readonly List<FileStream> _held = [];

    private AgentLocks() { }

    /// <summary>Takes every lock or none; an <see cref="AgentConflictException"/> names the first one held elsewhere.</summary>
    public static AgentLocks Acquire(IEnumerable<string> interfaces, string socketPath, string lockDir = LockDir)
    {
        var locks = new AgentLocks();
        try
        {
            if (socketPath.Length > 0)
                locks.Take(socketPath + ".lock", $"API socket {socketPath}");
            Directory.CreateDirectory(lockDir);
            string netns = NetnsId();
            foreach (var name in interfaces.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
                locks.Take(Path.Combine(lockDir, $"{netns}-{name}.lock"), $"interface {name}");
            return locks;
        }
        catch
        {
            locks.Dispose();
            throw;
        }
    }

    private void Take(string path, string what)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        FileStream lockFile;
        try
        {
            // FileShare.None is flock(LOCK_EX | LOCK_NB) on Linux: held until this process closes it or dies.
            lockFile = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new AgentConflictException(what, $"already served by another agent (pid {Holder(path)}, lock {path}); stop it first");
        }
        _held.Add(lockFile);
        // The pid goes beside the lock, not in it: .NET takes a shared flock to open a file for reading, which the
        // holder's exclusive one refuses, so a second agent could never read it from the lock file itself.
        File.WriteAllText(path + ".pid", Environment.ProcessId + "\n");
    }

    /// <summary>The pid the holder wrote beside its lock.</summary>
    private static string Holder(string path)
    {
        try { return File.ReadAllText(path + ".pid").Trim() is { Length: > 0 } pid ? pid : "unknown"; }
        catch (IOException) { return "unknown"; }
    }

    /// <summary>The network namespace's inode ("net:[4026531840]" → 4026531840): interface names are per namespace.</summary>
    private static string NetnsId()
    {
        string? target = new FileInfo("/proc/self/ns/net").LinkTarget;
        if (target is null) return "host";
        int open = target.IndexOf('['), close = target.IndexOf(']');
        return open >= 0 && close > open ? target[(open + 1)..close] : "host";
    }

    public void Dispose()
    {
        foreach (var f in _held) f.Dispose();
        _held.Clear();
    }
}

/// <summary>Another agent already serves an interface or the API socket this one was asked to take.</summary>
public sealed class AgentConflictException(string what, string why) : IOException($"{what} is {why}")
{
    public string What { get; } = what;
    public string Why { get; } = why;
}
