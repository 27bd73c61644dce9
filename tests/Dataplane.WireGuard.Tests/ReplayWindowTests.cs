using Dataplane.WireGuard.Transport;

namespace Dataplane.WireGuard.Tests;

public sealed class ReplayWindowTests
{
    [Fact]
    public void EachCounterIsAcceptedOnceAndOldOnesAreRejected()
    {
        var w = new ReplayWindow();
        Assert.True(w.Accept(0));
        Assert.False(w.Accept(0));
        Assert.True(w.Accept(5));
        Assert.True(w.Accept(3)); // out of order, inside the window
        Assert.False(w.Accept(3));
        Assert.False(w.MayAccept(5));
        ulong top = 100_000;
        Assert.True(w.Accept(top));
        Assert.True(w.Accept(top - ReplayWindow.WindowSize + 1)); // the oldest still inside
        Assert.False(w.MayAccept(top - ReplayWindow.WindowSize));
        Assert.False(w.Accept(top - ReplayWindow.WindowSize));
        Assert.True(ReplayWindow.WindowSize >= 2048);
    }

    [Fact]
    public void AJumpClearsTheBitsOfTheSlotsItPasses()
    {
        var w = new ReplayWindow();
        for (ulong c = 0; c < 200; c++) Assert.True(w.Accept(c));
        ulong far = 200 + 128 * 64; // the ring wrapped: every old slot must read as unseen for the new counters
        Assert.True(w.Accept(far));
        for (ulong c = far - 100; c < far; c++) Assert.True(w.Accept(c), $"counter {c}");
    }
}
