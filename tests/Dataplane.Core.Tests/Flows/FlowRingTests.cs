using Dataplane.Core.Flows;

namespace Dataplane.Core.Tests.Flows;

public class FlowRingTests
{
    [Fact]
    public void FullRingCountsLostEventsInsteadOfBlocking()
    {
        var ring = new FlowRing(4);
        for (ulong i = 0; i < 6; i++)
        {
            ref var e = ref ring.TryClaim(out bool ok);
            if (!ok) continue;
            e.Sequence = i;
            ring.Publish();
        }
        Assert.Equal(4, ring.Count);
        Assert.Equal(2, ring.Lost);
        for (ulong i = 0; i < 4; i++)
        {
            Assert.True(ring.TryRead(out var e));
            Assert.Equal(i, e.Sequence);
        }
        Assert.False(ring.TryRead(out _));
        ref var again = ref ring.TryClaim(out bool ok2);
        Assert.True(ok2);
        again.Sequence = 99;
        ring.Publish();
        Assert.True(ring.TryRead(out var last));
        Assert.Equal(99ul, last.Sequence);
    }

    [Fact]
    public async Task ProducerAndConsumerOnTwoThreadsLoseNothingWhenConsumerKeepsUp()
    {
        var ring = new FlowRing(1024);
        const int total = 200_000;
        var consumer = Task.Run(() =>
        {
            ulong expected = 0;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (expected < total && DateTime.UtcNow < deadline)
                while (ring.TryRead(out var e)) { Assert.Equal(expected, e.Sequence); expected++; }
            return expected;
        });
        ulong produced = 0;
        var stop = DateTime.UtcNow.AddSeconds(30);
        while (produced < total && DateTime.UtcNow < stop)
        {
            ref var e = ref ring.TryClaim(out bool ok);
            if (!ok) { ring.Lost--; Thread.Yield(); continue; }  // the test retries instead of dropping
            e.Sequence = produced++;
            ring.Publish();
        }
        Assert.Equal((ulong)total, await consumer);
        Assert.Equal(0, ring.Lost);
    }

    [Fact]
    public void CapacityMustBeAPowerOfTwo() => Assert.Throws<ArgumentException>(() => new FlowRing(100));
}
