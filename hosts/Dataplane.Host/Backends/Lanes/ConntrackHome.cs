using System.Security.Cryptography;
using System.Text;
using Dataplane.Core.Conntrack;
using Dataplane.Host.Run;
using Dataplane.Linux.Interop;

namespace Dataplane.Host.Backends.Lanes;

/// <summary>
/// Where the workers' conntrack tables live: one <see cref="ConntrackFile"/> per worker under --ct-dir, so the next
/// agent on this node re-attaches the connections a restart (even kill -9) would otherwise break — the C# backends'
/// counterpart of Cilium's CT maps pinned in bpffs. The directory must be a tmpfs (or hugetlbfs): a file on a disk
/// would have its dirty pages written back under the workers' feet. A file is named by the node, the agent's state
/// directory (what makes an agent "the same agent" across restarts) and the worker's queue. Whatever cannot be
/// shared — no tmpfs at the default place, a file held by another process — leaves that worker's table in memory,
/// with a log line; a discarded file (another build's layout) is logged with the reason.
/// </summary>
internal sealed class ConntrackHome
{
    private readonly string _dir;
    private readonly string _prefix;
    private readonly TextWriter _log;

    private ConntrackHome(string dir, string prefix, TextWriter log)
    {
        _dir = dir;
        _prefix = prefix;
        _log = log;
    }

    /// <summary>
    /// The home <paramref name="options"/> ask for, or null (memory only, logged). An explicit --ct-dir that is not
    /// on a tmpfs is an IOException (a start-up error before anything is attached).
    /// </summary>
    public static ConntrackHome? For(RunOptions options, string nodeName, TextWriter log)
    {
        string dir = options.ConntrackDir;
        if (dir.Length == 0) return null;
        string? problem = Problem(dir);
        if (problem is not null)
        {
            if (options.ConntrackDirGiven) throw new IOException($"--ct-dir {dir}: {problem}");
            log.WriteLine($"agent: conntrack: {dir} {problem}; connections are kept in memory only and do not survive a restart (mount a tmpfs there, or pass --ct-dir)");
            return null;
        }
        // 0700: the tables name every connection of the node.
        if (OperatingSystem.IsLinux()) Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string state = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(options.StateDir)))).ToLowerInvariant()[..8];
        return new ConntrackHome(dir, $"{Safe(nodeName)}-{state}", log);
    }

    /// <summary>At start-up, before anything is attached: an explicit --ct-dir that cannot hold the tables is exit code 8.</summary>
    public static void Verify(RunOptions options)
    {
        if (options.ConntrackDirGiven && options.ConntrackDir.Length > 0 && Problem(options.ConntrackDir) is { } why)
            throw new StartupFailure(RunExit.ConntrackDir, $"--ct-dir {options.ConntrackDir}", why);
    }

    /// <summary>Why <paramref name="dir"/> (or the nearest existing parent) cannot hold shared tables; null when it can.</summary>
    private static string? Problem(string dir)
    {
        string probe = dir;
        while (!Directory.Exists(probe))
        {
            string? parent = Path.GetDirectoryName(probe);
            if (parent is null) return "does not exist";
            probe = parent;
        }
        long type;
        try { type = LibC.FileSystemType(probe); }
        catch (LinuxException e) { return e.Message; }
        return type is LibC.TMPFS_MAGIC or LibC.HUGETLBFS_MAGIC ? null : $"is not on a tmpfs ({probe}: filesystem type 0x{type:x})";
    }

    private static string Safe(string name)
    {
        var s = new StringBuilder(name.Length);
        foreach (char c in name) s.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        return s.ToString();
    }

    /// <summary>The file of worker <paramref name="queue"/>.</summary>
    public string PathOf(int queue) => Path.Combine(_dir, $"{_prefix}-q{queue}.ct");

    /// <summary>Worker <paramref name="queue"/>'s table with <paramref name="capacity"/> entries: re-attached, new, or in memory when the file is unusable.</summary>
    public ConntrackTable Open(int queue, int capacity)
    {
        string path = PathOf(queue);
        ConntrackFile file;
        try { file = ConntrackFile.Open(path, capacity); }
        catch (IOException e)
        {
            _log.WriteLine($"agent: conntrack: worker {queue}: {e.Message}; its connections are kept in memory only");
            return new ConntrackTable(capacity);
        }
        var table = new ConntrackTable(file, (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        if (file.Discarded is { } why)
            _log.WriteLine($"agent: conntrack: worker {queue}: discarded {path} ({why}); starting with an empty table");
        else if (file.Reused)
            _log.WriteLine($"agent: conntrack: worker {queue}: re-attached {table.Recovered} connection(s) from {path}");
        else
            _log.WriteLine($"agent: conntrack: worker {queue}: new table in {path}");
        return table;
    }
}
