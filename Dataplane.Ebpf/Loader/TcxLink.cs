using System.Runtime.InteropServices;

namespace Dataplane.Ebpf.Loader;

/// <summary>
/// A tcx ingress attachment of the TC program: the BPF link's fd. Disposing closes it, which detaches the
/// program (nothing else holds the link: it is not pinned).
/// </summary>
public sealed partial class TcxLink : IDisposable
{
    private int _fd;

    internal TcxLink(int fd, int ifindex)
    {
        _fd = fd;
        IfIndex = ifindex;
    }

    public int IfIndex { get; }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) close(fd);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
