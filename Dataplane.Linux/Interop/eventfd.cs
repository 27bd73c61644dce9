using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;sys/eventfd.h&gt;, and read/write on its descriptor.</summary>
public static unsafe partial class LibC
{
    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, void* buf, nuint count);
}
