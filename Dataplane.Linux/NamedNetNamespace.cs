using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;
using Dataplane.Linux.Netlink;

namespace Dataplane.Linux;

/// <summary>
/// Named network namespaces as iproute2 keeps them (so `ip netns` and `ip -n` see ours and we see theirs): a
/// namespace made by unshare(CLONE_NEWNET) on a thread of its own and kept alive by a bind mount of that
/// thread's namespace file onto /run/netns/NAME, in a directory that is a shared mount (mounts made in it
/// propagate to the mount namespaces runtimes create).
/// </summary>
public static partial class NetNamespace
{
    private const string RunDir = "/run/netns";
    private const ulong MS_BIND = 4096, MS_REC = 16384, MS_SHARED = 1 << 20;
    private const int MNT_DETACH = 2;
    private const int EINVAL = 22;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int unshare(int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount(string? source, string target, string? fstype, ulong flags, nint data);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2(string target, int flags);

    /// <summary>Creates namespace <paramref name="name"/> with its loopback up; fails when it exists.</summary>
    public static void Create(string name)
    {
        if (name.Length == 0 || name.Contains('/') || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a namespace name", nameof(name));
        Directory.CreateDirectory(RunDir);
        MakeRunDirShared();
        string path = PathOf(name);
        // The mount point: an empty file nobody else may have created meanwhile.
        try { File.Open(path, FileMode.CreateNew, FileAccess.Write).Dispose(); }
        catch (IOException) when (File.Exists(path)) { throw new IOException($"network namespace {name} already exists ({path})"); }
        try
        {
            Exception? error = null;
            var thread = new Thread(() =>
            {
                try
                {
                    if (unshare(CLONE_NEWNET) != 0) throw Errno.Error("unshare(CLONE_NEWNET)");
                    if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, 0) != 0) throw Errno.Error($"mount --bind (netns) {path}");
                }
                catch (Exception e) { error = e; }
            }) { IsBackground = true, Name = "netns-create" };
            thread.Start();
            thread.Join();
            if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            using var nl = RtNetlink.OpenIn(path);
            nl.SetUp("lo");
        }
        catch
        {
            umount2(path, MNT_DETACH);
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Deletes a named namespace (its devices go once nothing runs in it any more); false when there was none.</summary>
    public static bool Delete(string name)
    {
        string path = PathOf(name);
        if (!File.Exists(path)) return false;
        if (umount2(path, MNT_DETACH) != 0 && Errno.Last != EINVAL) throw Errno.Error($"umount {path}");
        File.Delete(path);
        return true;
    }

    /// <summary>The named namespaces (the files in /run/netns).</summary>
    public static IReadOnlyList<string> List() =>
        Directory.Exists(RunDir) ? [.. Directory.GetFiles(RunDir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)] : [];

    /// <summary>The processes whose network namespace is this one (compared by the namespace's inode, as `ip netns pids`).</summary>
    public static IReadOnlyList<int> Pids(string nameOrPath)
    {
        string id = Run(nameOrPath, () => new FileInfo("/proc/thread-self/ns/net").LinkTarget ?? "");
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                if (new FileInfo($"{dir}/ns/net").LinkTarget == id) pids.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* exited meanwhile */ }
        }
        return pids;
    }

    private static void MakeRunDirShared()
    {
        if (mount(null, RunDir, "none", MS_SHARED | MS_REC, 0) == 0) return;
        if (Errno.Last != EINVAL) throw Errno.Error($"mount --make-rshared {RunDir}");
        // Not a mount point yet: make it one (bound onto itself), then shared.
        if (mount(RunDir, RunDir, "none", MS_BIND | MS_REC, 0) != 0) throw Errno.Error($"mount --bind {RunDir}");
        if (mount(null, RunDir, "none", MS_SHARED | MS_REC, 0) != 0) throw Errno.Error($"mount --make-rshared {RunDir}");
    }
}
