using System.Runtime.InteropServices;
using Dataplane.Core.Ports;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux;

/// <summary>Idle waiter over the ports' file descriptors: ppoll with a microsecond timeout.</summary>
public sealed unsafe class PollWaiter : IIdleWaiter, IDisposable
{
    private readonly pollfd* _fds;
    private readonly int _count;

    public PollWaiter(IEnumerable<int> fds)
    {
        var list = fds.ToArray();
        _count = list.Length;
        _fds = (pollfd*)NativeMemory.AllocZeroed((nuint)Math.Max(1, _count), (nuint)sizeof(pollfd));
        for (int i = 0; i < _count; i++) { _fds[i].fd = list[i]; _fds[i].events = LibC.POLLIN; }
    }

    /// <summary>Socket errors seen (e.g. ENETDOWN while a link was down); reading them clears them.</summary>
    public ulong SocketErrors;

    public void Wait(int microseconds)
    {
        timespec ts;
        ts.tv_sec = microseconds / 1_000_000;
        ts.tv_nsec = (microseconds % 1_000_000) * 1000L;
        int rc = LibC.ppoll(_fds, (nuint)_count, &ts, null);
        if (rc <= 0) return;
        for (int i = 0; i < _count; i++)
        {
            if ((_fds[i].revents & LibC.POLLERR) == 0) continue;
            // A pending socket error (ENETDOWN after a link went down) makes poll return at once forever;
            // reading SO_ERROR clears it.
            int err = 0; uint len = sizeof(int);
            LibC.getsockopt(_fds[i].fd, LibC.SOL_SOCKET, LibC.SO_ERROR, &err, &len);
            SocketErrors++;
        }
    }

    public void Dispose() => NativeMemory.Free(_fds);
}
