using Dataplane.Core.Conntrack;

namespace Dataplane.Core.Tests.Conntrack;

public class ConntrackTableTests
{
    private static CtKey Key(uint src, uint dst, ushort sport, ushort dport, byte proto = 6) =>
        new(0xC6120000u | src, 0xC6130000u | dst, sport, dport, proto, 4);

    [Fact]
    public void FindsBothDirectionsAndTellsWhichIsTheReply()
    {
        using var ct = new ConntrackTable(16);
        var k = Key(1, 2, 40000, 80);
        Assert.True(ct.TryInsert(k, 100, out var e));
        Assert.True(ct.TryLookup(k, out var e1, out var reply1));
        Assert.Equal(e, e1); Assert.False(reply1);
        Assert.True(ct.TryLookup(k.Reverse(), out var e2, out var reply2));
        Assert.Equal(e, e2); Assert.True(reply2);
        Assert.False(ct.TryLookup(Key(1, 2, 40001, 80), out _, out _));
        Assert.False(ct.TryLookup(Key(1, 2, 40000, 80, proto: 17), out _, out _));
        var v6 = new CtKey(0x20010db8UL << 96 | 1, 0x20010db8UL << 96 | 2, 1, 2, 17, 6);
        Assert.True(ct.TryInsert(v6, 100, out var e6));
        Assert.True(ct.TryLookup(v6.Reverse(), out var e6r, out var r6));
        Assert.Equal(e6, e6r); Assert.True(r6);
        Assert.Equal(k, ct[e].Key);
    }

    [Fact]
    public void FullTableOfAnsweredConnectionsRefusesInsteadOfThrowing()
    {
        using var ct = new ConntrackTable(100);
        for (uint i = 0; i < 100; i++)
        {
            Assert.True(ct.TryInsert(Key(i, 1, 1, 1), 10, out uint answered));
            ct[answered].State = TcpTracker.SeenReply; // not evictable (ConntrackEvictionTests)
        }
        Assert.False(ct.TryInsert(Key(500, 1, 1, 1), 10, out _));
        Assert.Equal(100, ct.Count);
        Assert.True(ct.TryLookup(Key(99, 1, 1, 1), out var e, out _));
        ct.Remove(e);
        Assert.True(ct.TryInsert(Key(500, 1, 1, 1), 10, out _));
    }

    [Fact]
    public void CollectExpiresInBudgetedSlices()
    {
        using var ct = new ConntrackTable(1000);
        for (uint i = 0; i < 1000; i++) ct.TryInsert(Key(i, 1, 1, 1), i < 500 ? 10u : 20u, out _);
        int removed = 0;
        for (int slice = 0; slice < 10; slice++) removed += ct.Collect(now: 15, budget: 100);
        Assert.Equal(500, removed);
        Assert.Equal(500, ct.Count);
        Assert.False(ct.TryLookup(Key(3, 1, 1, 1), out _, out _));
        Assert.True(ct.TryLookup(Key(700, 1, 1, 1).Reverse(), out _, out var reply));
        Assert.True(reply);
    }

    [Fact]
    public void RandomOperationsMatchADictionary()
    {
        var rng = new Random(42);
        const int capacity = 4096;
        using var ct = new ConntrackTable(capacity);
        var reference = new Dictionary<CtKey, uint>();
        var keys = Enumerable.Range(0, 8000).Select(i => Key((uint)rng.Next(64), (uint)rng.Next(64), (ushort)rng.Next(1, 200), 80, (byte)(rng.Next(2) == 0 ? 6 : 17))).Distinct().ToArray();
        uint now = 1;
        for (int op = 0; op < 200_000; op++)
        {
            var k = keys[rng.Next(keys.Length)];
            bool found = ct.TryLookup(k, out var e, out var reply);
            bool rfound = reference.TryGetValue(k, out var re);
            bool rreply = false;
            if (!rfound && reference.TryGetValue(k.Reverse(), out re)) { rfound = true; rreply = true; }
            Assert.Equal(rfound, found);
            if (found) { Assert.Equal(re, e); Assert.Equal(rreply, reply); }
            if (!found && rng.Next(3) != 0)
            {
                bool ok = ct.TryInsert(k, now + (uint)rng.Next(1, 50), out var ne);
                Assert.Equal(reference.Count < capacity, ok);
                if (ok) reference[k] = ne;
            }
            else if (found && rng.Next(4) == 0)
            {
                ct.Remove(e);
                reference.Remove(rreply ? k.Reverse() : k);
            }
            if (op % 1000 == 0)
            {
                now += 5;
                ct.Collect(now, 2000);
                foreach (var (rk, rv) in reference.ToList())
                    if (ct[rv].Expires == 0 || !ct[rv].Key.Equals(rk)) reference.Remove(rk);
            }
            Assert.Equal(reference.Count, ct.Count);
        }
    }

    [Fact]
    public void OneMillionFlowsFitIn128BytesEach()
    {
        using var ct = new ConntrackTable(1_000_000);
        double perFlow = (double)ct.MemoryBytes / ct.Capacity;
        Assert.True(perFlow <= 128, $"{perFlow:F1} bytes per flow");
        for (uint i = 0; i < 1_000_000; i++)
        {
            Assert.True(ct.TryInsert(new CtKey(i, 0xC6120001, (ushort)i, 443, 6, 4), 100, out uint e));
            ct[e].State = TcpTracker.SeenReply; // answered: a full table of these has nothing to evict
        }
        Assert.True(ct.TryLookup(new CtKey(999_999, 0xC6120001, unchecked((ushort)999_999), 443, 6, 4).Reverse(), out _, out var reply));
        Assert.True(reply);
        Assert.False(ct.TryInsert(new CtKey(5_000_000, 1, 1, 1, 6, 4), 100, out _));
    }
}
