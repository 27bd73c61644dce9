using Dataplane.Core.Conntrack;

namespace Dataplane.Core.Tests.Conntrack;

/// <summary>
/// A full table evicts the oldest embryonic (unanswered) connection the inserting endpoint may take — anyone's while
/// it holds no more than its share, only its own beyond — and refuses (the caller's 155) only when there is none;
/// answered connections are never evicted, and the age order survives a re-attach from a shared file.
/// </summary>
public sealed class ConntrackEvictionTests
{
    private static CtKey Key(uint owner, ushort n) => new(0xC6126400u + owner, 0xC6126501, n, 80, 6, 4);

    [Fact]
    public void OverItsShareAnEndpointEvictsOnlyItsOwnUnderItAnyonesOldest()
    {
        using var ct = new ConntrackTable(8);
        Assert.Equal(2, ct.EndpointShare);
        for (ushort n = 0; n < 3; n++) Assert.True(ct.TryInsert(Key(1, n), 100, out _, owner: 1));
        for (ushort n = 0; n < 5; n++) Assert.True(ct.TryInsert(Key(2, n), 100, out _, owner: 2));
        Assert.Equal(8, ct.Count);

        // Owner 1 (3 ≥ its share of 2) recycles its own oldest, not owner 2's.
        Assert.True(ct.TryInsert(Key(1, 10), 100, out _, owner: 1));
        Assert.False(ct.TryLookup(Key(1, 0), out _, out _));
        Assert.True(ct.TryLookup(Key(2, 0), out _, out _));
        Assert.Equal((3, 5), (ct.OwnedBy(1), ct.OwnedBy(2)));

        // Owner 1's connections all answered: it may take nothing, and is refused.
        foreach (ushort n in new ushort[] { 1, 2, 10 })
        {
            Assert.True(ct.TryLookup(Key(1, n), out uint e, out _));
            ct[e].State |= TcpTracker.SeenReply;
        }
        Assert.False(ct.TryInsert(Key(1, 11), 100, out _, owner: 1));

        // Owner 3 holds nothing: it evicts the oldest embryonic connection of anyone (owner 2's first).
        Assert.True(ct.TryInsert(Key(3, 0), 100, out _, owner: 3));
        Assert.False(ct.TryLookup(Key(2, 0), out _, out _));
        Assert.Equal(2, ct.Evictions);
        Assert.Equal(8, ct.Count);
    }

    [Fact]
    public void OnlyAnsweredConnectionsLeftMeansRefusal()
    {
        using var ct = new ConntrackTable(4);
        for (ushort n = 0; n < 4; n++)
        {
            Assert.True(ct.TryInsert(Key(1, n), 100, out uint e, owner: (uint)n));
            ct[e].State = TcpTracker.SeenReply | TcpTracker.SeenNonSyn;
        }
        Assert.False(ct.TryInsert(Key(9, 0), 100, out _, owner: 9));
        Assert.Equal(0, ct.Evictions);
        // Off (the eBPF backend's plain hash map): refused even with unanswered connections in the table.
        using var strict = new ConntrackTable(1) { EvictsWhenFull = false };
        Assert.True(strict.TryInsert(Key(1, 0), 100, out _));
        Assert.False(strict.TryInsert(Key(2, 0), 100, out _, owner: 2));
    }

    [Fact]
    public void AFreedAndReusedEntryIsNotEvictedByItsOldQueueSlot()
    {
        using var ct = new ConntrackTable(2);
        Assert.True(ct.TryInsert(Key(1, 0), 100, out uint first));
        ct.Remove(first);
        Assert.True(ct.TryInsert(Key(1, 1), 100, out uint again));           // the same line, queued again
        Assert.Equal(first, again);
        Assert.True(ct.TryInsert(Key(1, 2), 100, out _));
        Assert.True(ct.TryInsert(Key(1, 3), 100, out _));                    // evicts Key(1, 1), the oldest alive
        Assert.False(ct.TryLookup(Key(1, 1), out _, out _));
        Assert.True(ct.TryLookup(Key(1, 2), out _, out _));
    }

    [Fact]
    public void OwnersAndAgeOrderSurviveAReattach()
    {
        string dir = Directory.CreateTempSubdirectory("dpt-ctevict-").FullName;
        try
        {
            string path = Path.Combine(dir, "q0.ct");
            using (var first = new ConntrackTable(ConntrackFile.Open(path, 4), 1000))
                for (ushort n = 0; n < 4; n++) Assert.True(first.TryInsert(Key(1, n), 2000, out _, owner: 1));
            using var second = new ConntrackTable(ConntrackFile.Open(path, 4), 1000);
            Assert.Equal(4, second.OwnedBy(1));
            Assert.True(second.TryInsert(Key(2, 0), 2000, out _, owner: 2));
            Assert.False(second.TryLookup(Key(1, 0), out _, out _));          // the oldest went first
            Assert.True(second.TryLookup(Key(1, 1), out _, out _));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
