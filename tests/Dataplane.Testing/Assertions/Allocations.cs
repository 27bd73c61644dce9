namespace Dataplane.Testing.Assertions;

/// <summary>
/// The hot-path rule "no allocation per packet", as a test. Measured with the per-thread counter
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) around work that runs on the measuring thread only, so
/// other tests, other processes and machine load cannot add to it. The runtime itself may allocate a few KiB on
/// this thread while the code warms up (tier-1 re-JIT, call-counting stubs, OSR — seen as 1–7 KiB under a
/// loaded CI machine); that work ends. So: windows of <c>passes</c> batches, at most <see cref="MaxWindows"/>,
/// until two windows in a row allocate exactly nothing. A per-packet or per-batch allocation shows in every
/// window and fails, whatever the load.
/// </summary>
public static class Allocations
{
    public const int MaxWindows = 10;

    public static void AssertSteadyStateAllocatesNothing(Action pass, int passes)
    {
        var seen = new List<long>();
        for (int w = 0; w < MaxWindows; w++)
        {
            seen.Add(Window(pass, passes));
            if (seen.Count >= 2 && seen[^1] == 0 && seen[^2] == 0) return;
        }
        Assert.Fail($"never two windows of {passes} batches in a row without allocation; bytes per window: {string.Join(", ", seen)}");
    }

    private static long Window(Action pass, int passes)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < passes; i++) pass();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
