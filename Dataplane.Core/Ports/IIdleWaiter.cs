namespace Dataplane.Core.Ports;

/// <summary>How a worker waits when its ports had nothing to receive. Backends with file descriptors poll them.</summary>
public interface IIdleWaiter
{
    /// <summary>Waits up to <paramref name="microseconds"/> or until a port may have packets.</summary>
    void Wait(int microseconds);
}

/// <summary>Fallback waiter: sleeps (millisecond granularity), or yields for very short waits.</summary>
public sealed class SleepWaiter : IIdleWaiter
{
    public static readonly SleepWaiter Instance = new();

    public void Wait(int microseconds)
    {
        if (microseconds < 1000) Thread.Yield();
        else Thread.Sleep(microseconds / 1000);
    }
}
