namespace Dataplane.Testing.Assertions;

/// <summary>
/// The hot-path rule "no allocation per packet", as a test: after warm-up, two windows of <c>passes</c> batches
/// each. The runtime may do a one-off ~1 KiB of its own work on the test's thread in the first window (tier-1
/// re-JIT and call-counting installation, seen under a loaded CI machine); a per-packet or per-batch allocation
/// shows in both, and the second window must allocate exactly nothing.
/// </summary>
public static class Allocations
{
    public static void AssertSteadyStateAllocatesNothing(Action pass, int passes)
    {
        long first = Window(pass, passes);
        long second = Window(pass, passes);
        Xunit.Assert.True(first < 4096, $"{first} bytes allocated over {passes} batches");
        Xunit.Assert.Equal(0, second);
    }

    private static long Window(Action pass, int passes)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < passes; i++) pass();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
