using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;sys/vfs.h&gt;: which filesystem a path lies on.</summary>
public static unsafe partial class LibC
{
    public const long TMPFS_MAGIC = 0x01021994;
    public const long HUGETLBFS_MAGIC = 0x958458f6;

    /// <summary>struct statfs is 120 bytes on x86-64 and arm64; f_type is its first field (a long).</summary>
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statfs(string path, byte* buf);

    /// <summary>The f_type of the filesystem holding <paramref name="path"/>; throws <see cref="LinuxException"/> when statfs fails.</summary>
    public static long FileSystemType(string path)
    {
        byte* buf = stackalloc byte[256];
        if (statfs(path, buf) != 0) throw Errno.Error($"statfs {path}");
        return *(long*)buf;
    }
}
