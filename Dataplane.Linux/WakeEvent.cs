using Dataplane.Linux.Interop;

namespace Dataplane.Linux;

/// <summary>
/// An eventfd a worker blocked in <see cref="PollWaiter"/> also waits on, so the control plane can wake it at
/// once (a new configuration to adopt) instead of waiting out the idle timeout. Signals coalesce: many
/// <see cref="Signal"/>s before the worker wakes are one wake-up.
/// </summary>
public sealed unsafe class WakeEvent : IDisposable
{
    public WakeEvent()
    {
        Fd = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        if (Fd < 0) throw Errno.Error("eventfd");
    }

    public int Fd { get; private set; }

    public void Signal()
    {
        ulong one = 1;
        // EAGAIN only when the counter is at its maximum: the worker has a wake-up pending anyway.
        _ = LibC.write(Fd, &one, sizeof(ulong));
    }

    /// <summary>Clears pending signals (non-blocking).</summary>
    public void Drain()
    {
        ulong value;
        _ = LibC.read(Fd, &value, sizeof(ulong));
    }

    public void Dispose()
    {
        if (Fd >= 0) LibC.close(Fd);
        Fd = -1;
    }
}
