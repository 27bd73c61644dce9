namespace Dataplane.Core.Ports;

/// <summary>How a worker waits when its ports had nothing to receive. Backends with file descriptors poll them.</summary>
public interface IIdleWaiter
{
    /// <summary>
    /// Waits up to <paramref name="microseconds"/> or until a port may have packets. Returns false when the wait
    /// timed out with every port known to be empty, true otherwise (a waiter that cannot tell returns true).
    /// </summary>
    bool Wait(int microseconds);

    /// <summary>
    /// Sleeps <paramref name="microseconds"/> whatever arrives meanwhile: the worker's interrupt coalescing, which
    /// lets a batch gather instead of waking once per packet.
    /// </summary>
    void Sleep(int microseconds);
}

/// <summary>Fallback waiter: sleeps (millisecond granularity), or yields for very short waits.</summary>
public sealed class SleepWaiter : IIdleWaiter
{
    public static readonly SleepWaiter Instance = new();

    public bool Wait(int microseconds)
    {
        Sleep(microseconds);
        return true;
    }

    public void Sleep(int microseconds)
    {
        if (microseconds < 1000) Thread.Yield();
        else Thread.Sleep(microseconds / 1000);
    }
}
