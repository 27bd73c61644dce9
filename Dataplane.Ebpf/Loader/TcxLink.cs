using System.Runtime.InteropServices;

namespace Dataplane.Ebpf.Loader;

/// <summary>
/// A tcx ingress attachment of the TC program: the BPF link's fd, and its bpffs pin when it has one. Disposing
/// closes the fd: an unpinned link then ends (the program leaves the interface), a pinned one stays attached for
/// the next agent to take over. <see cref="Detach"/> removes the pin first, so the program leaves either way.
/// </summary>
public sealed partial class TcxLink : IDisposable
{
    private int _fd;

    internal TcxLink(int fd, int ifindex, string? pinPath = null, bool reused = false)
    {
        _fd = fd;
        IfIndex = ifindex;
        PinPath = pinPath;
        Reused = reused;
    }

    public int IfIndex { get; }

    /// <summary>Where the link is pinned (null: not pinned, it ends with this handle).</summary>
    public string? PinPath { get; }

    /// <summary>True when a pinned link of an earlier load was found and given this load's program.</summary>
    public bool Reused { get; }

    /// <summary>Takes the program off the interface: removes the pin (if any), then closes the link.</summary>
    public void Detach()
    {
        if (PinPath is not null)
        {
            try { File.Delete(PinPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        Dispose();
    }

    internal static void Close(int fd) => close(fd);

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) close(fd);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
