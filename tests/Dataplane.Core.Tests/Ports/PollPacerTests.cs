using Dataplane.Core.Ports;

namespace Dataplane.Core.Tests.Ports;

/// <summary>What the worker loop does between polls in each <see cref="PollMode"/>.</summary>
public sealed class PollPacerTests
{
    /// <summary>Records the calls; <see cref="Readable"/> is what Wait reports.</summary>
    private sealed class RecordingWaiter : IIdleWaiter
    {
        public readonly List<string> Calls = [];
        public bool Readable = true;
        public bool Wait(int microseconds) { Calls.Add($"wait {microseconds}"); return Readable; }
        public void Sleep(int microseconds) => Calls.Add($"sleep {microseconds}");
    }

    private static readonly WorkerOptions Interrupt = new() { Mode = PollMode.Interrupt, CoalesceMicros = 40, IdleWaitMicros = 7000 };

    [Fact]
    public void InterruptIdleBlocksOnSocketsThenCoalescesBeforeTheNextPoll()
    {
        var w = new RecordingWaiter();
        var pacer = new PollPacer();
        pacer.AfterPoll(0, 256, Interrupt, w);
        Assert.Equal(["wait 7000", "sleep 40"], w.Calls);
    }

    [Fact]
    public void InterruptWaitTimedOutPollsAgainWithoutSleeping()
    {
        var w = new RecordingWaiter { Readable = false };
        var pacer = new PollPacer();
        pacer.AfterPoll(0, 256, Interrupt, w);
        Assert.Equal(["wait 7000"], w.Calls);
    }

    [Fact]
    public void InterruptPartialBatchSleepsTheCoalescingTimeFullBatchPollsAtOnce()
    {
        var w = new RecordingWaiter();
        var pacer = new PollPacer();
        pacer.AfterPoll(17, 256, Interrupt, w);
        pacer.AfterPoll(256, 256, Interrupt, w);
        pacer.AfterPoll(256, 256, Interrupt, w);
        Assert.Equal(["sleep 40"], w.Calls);
    }

    [Fact]
    public void InterruptWithoutCoalescingOnlyBlocksWhenIdle()
    {
        var w = new RecordingWaiter();
        var pacer = new PollPacer();
        var o = Interrupt with { CoalesceMicros = 0 };
        pacer.AfterPoll(3, 256, o, w);
        pacer.AfterPoll(0, 256, o, w);
        Assert.Equal(["wait 7000"], w.Calls);
    }

    [Fact]
    public void AdaptiveSpinsThroughEmptyPollsThenWaitsAndTrafficResetsTheSpin()
    {
        var w = new RecordingWaiter();
        var pacer = new PollPacer();
        var o = new WorkerOptions { Mode = PollMode.Adaptive, SpinBeforeSleep = 3, PollSleepMicros = 50 };
        for (int i = 0; i < 4; i++) pacer.AfterPoll(0, 256, o, w);
        Assert.Equal(["wait 50", "wait 50"], w.Calls);
        pacer.AfterPoll(5, 256, o, w);
        pacer.AfterPoll(0, 256, o, w);
        Assert.Equal(2, w.Calls.Count);
    }

    [Fact]
    public void BusyNeverWaits()
    {
        var w = new RecordingWaiter();
        var pacer = new PollPacer();
        var o = new WorkerOptions { Mode = PollMode.Busy };
        for (int i = 0; i < 1000; i++) pacer.AfterPoll(i % 3, 256, o, w);
        Assert.Empty(w.Calls);
    }
}
