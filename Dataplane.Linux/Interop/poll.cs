using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;poll.h&gt;, &lt;time.h&gt; (timespec).</summary>
public static unsafe partial class LibC
{
    public const short POLLIN = 0x001;
    public const short POLLOUT = 0x004;
    public const short POLLERR = 0x008;
    public const short POLLHUP = 0x010;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int poll(pollfd* fds, nuint nfds, int timeoutMs);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ppoll(pollfd* fds, nuint nfds, timespec* timeout, void* sigmask);
}

[StructLayout(LayoutKind.Sequential)]
public struct pollfd
{
    public int fd;
    public short events;
    public short revents;
}

[StructLayout(LayoutKind.Sequential)]
public struct timespec
{
    public long tv_sec;
    public long tv_nsec;
}
