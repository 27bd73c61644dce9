using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;sys/mman.h&gt;.</summary>
public static unsafe partial class LibC
{
    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_POPULATE = 0x8000;
    public static readonly void* MAP_FAILED = (void*)-1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int munmap(void* addr, nuint length);
}
