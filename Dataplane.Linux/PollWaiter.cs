using System.Runtime.InteropServices;
using Dataplane.Core.Ports;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux;

/// <summary>
/// Idle waiter over the ports' file descriptors: ppoll with a microsecond timeout. The kernel wakes it when a
/// socket has data: AF_XDP at every flush of its rx ring (per packet in generic XDP mode, per NAPI poll in native
/// mode), TPACKET_V3 when a block is retired (full, or its timeout expired).
/// </summary>
public sealed unsafe class PollWaiter : IIdleWaiter, IDisposable
{
    private readonly pollfd* _fds;
    private readonly int _count;
    private readonly WakeEvent? _wake;

    /// <param name="fds">The ports' descriptors, waited on for input.</param>
    /// <param name="wake">Also waited on (last in the set): signalled, it ends the wait and is drained.</param>
    public PollWaiter(IEnumerable<int> fds, WakeEvent? wake = null)
    {
        var list = wake is null ? fds.ToArray() : [.. fds, wake.Fd];
        _wake = wake;
        _count = list.Length;
        _fds = (pollfd*)NativeMemory.AllocZeroed((nuint)Math.Max(1, _count), (nuint)sizeof(pollfd));
        for (int i = 0; i < _count; i++) { _fds[i].fd = list[i]; _fds[i].events = LibC.POLLIN; }
    }

    /// <summary>Socket errors seen (e.g. ENETDOWN while a link was down); reading them clears them.</summary>
    public ulong SocketErrors;

    public bool Wait(int microseconds)
    {
        timespec ts = Timeout(microseconds);
        int rc = LibC.ppoll(_fds, (nuint)_count, &ts, null);
        // Interrupted (EINTR) or failed: the caller polls its rings, which is always safe.
        if (rc < 0) return true;
        if (rc == 0) return false;
        if (_wake is not null && (_fds[_count - 1].revents & LibC.POLLIN) != 0) _wake.Drain();
        for (int i = 0; i < _count; i++)
        {
            if ((_fds[i].revents & LibC.POLLERR) == 0) continue;
            // A pending socket error (ENETDOWN after a link went down) makes poll return at once forever;
            // reading SO_ERROR clears it.
            int err = 0; uint len = sizeof(int);
            LibC.getsockopt(_fds[i].fd, LibC.SOL_SOCKET, LibC.SO_ERROR, &err, &len);
            SocketErrors++;
        }
        return true;
    }

    /// <summary>A timed sleep that no socket interrupts (ppoll over no descriptors: microsecond resolution).</summary>
    public void Sleep(int microseconds)
    {
        timespec ts = Timeout(microseconds);
        LibC.ppoll(null, 0, &ts, null);
    }

    private static timespec Timeout(int microseconds)
    {
        timespec ts;
        ts.tv_sec = microseconds / 1_000_000;
        ts.tv_nsec = (microseconds % 1_000_000) * 1000L;
        return ts;
    }

    public void Dispose() => NativeMemory.Free(_fds);
}
