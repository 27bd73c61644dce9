using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Routing;

/// <summary>Random adds and removes checked against a naive linear-scan longest-prefix match.</summary>
public class Lpm4DifferentialTests
{
    private sealed class NaiveTable
    {
        public readonly Dictionary<(uint Prefix, int Depth), uint> Rules = new();

        /// <summary>Rules longest first, so the first match is the answer.</summary>
        public (uint Prefix, uint Mask, uint NextHop)[] Snapshot() =>
            Rules.OrderByDescending(r => r.Key.Depth)
                 .Select(r => (r.Key.Prefix, r.Key.Depth == 0 ? 0u : uint.MaxValue << (32 - r.Key.Depth), r.Value))
                 .ToArray();

        public static uint Lookup((uint Prefix, uint Mask, uint NextHop)[] rules, uint ip)
        {
            foreach (var r in rules)
                if ((ip & r.Mask) == r.Prefix) return r.NextHop;
            return Lpm4.NotFound;
        }
    }

    private static int RandomDepth(Random rnd) =>
        rnd.Next(200) == 0 ? rnd.Next(8, 12) : rnd.Next(12, 33); // short prefixes are rare (each repaints up to 2^16 slots)

    [Fact]
    public void MatchesNaiveLinearScan()
    {
        var rnd = new Random(20260);
        using var lpm = new Lpm4(maxTbl8Groups: 16384);
        var naive = new NaiveTable();
        var keys = new List<(uint, int)>();

        // Prefixes cluster under a few /8s so that they nest and overlap.
        uint[] bases = [0x0A000000, 0xC0A80000, 0xC6120000, 0x64400000, 0xAC100000];
        for (int i = 0; i < 8000; i++)
        {
            int depth = RandomDepth(rnd);
            uint prefix = Lpm4.Mask((bases[rnd.Next(bases.Length)] & 0xFF000000) | ((uint)rnd.NextInt64() & (rnd.Next(4) == 0 ? 0xFFFFFFFF : 0x00FFFFFF)), depth);
            uint nh = (uint)rnd.Next(1 << 24);
            lpm.Add(prefix, depth, nh);
            if (!naive.Rules.ContainsKey((prefix, depth))) keys.Add((prefix, depth));
            naive.Rules[(prefix, depth)] = nh;
        }
        Check(lpm, naive, rnd, keys, 50_000);

        // Remove about half, some twice, plus a few never-added prefixes, then re-add some with new hops.
        for (int i = 0; i < 4500; i++)
        {
            var (p, d) = keys[rnd.Next(keys.Count)];
            Assert.Equal(naive.Rules.Remove((p, d)), lpm.Remove(p, d));
        }
        for (int i = 0; i < 200; i++)
        {
            uint p = (uint)rnd.NextInt64(); int d = rnd.Next(20, 33);
            Assert.Equal(naive.Rules.Remove((Lpm4.Mask(p, d), d)), lpm.Remove(p, d));
        }
        for (int i = 0; i < 1000; i++)
        {
            var (p, d) = keys[rnd.Next(keys.Count)];
            uint nh = (uint)rnd.Next(1 << 24);
            lpm.Add(p, d, nh);
            naive.Rules[(p, d)] = nh;
        }
        Check(lpm, naive, rnd, keys, 50_000);

        // Removing everything must leave an empty table with every group folded away.
        foreach (var (p, d) in naive.Rules.Keys.ToArray()) Assert.True(lpm.Remove(p, d));
        Assert.Equal(0, lpm.Count);
        Assert.Equal(0, lpm.Tbl8GroupsInUse);
        for (int i = 0; i < 10_000; i++) Assert.False(lpm.TryLookup((uint)rnd.NextInt64(), out _));
    }

    private static void Check(Lpm4 lpm, NaiveTable naive, Random rnd, List<(uint Prefix, int Depth)> keys, int lookups)
    {
        Assert.Equal(naive.Rules.Count, lpm.Count);
        var rules = naive.Snapshot();
        var ips = new uint[lookups];
        for (int i = 0; i < lookups; i++)
        {
            if (rnd.Next(2) == 0) { ips[i] = (uint)rnd.NextInt64(); continue; }
            var (p, d) = keys[rnd.Next(keys.Count)]; // an address inside a (possibly removed) prefix
            uint host = d == 32 ? 0 : (uint)rnd.NextInt64() & (uint.MaxValue >> d);
            ips[i] = p | host;
        }
        var bulk = new uint[lookups];
        lpm.LookupBulk(ips, bulk);
        int hits = 0;
        for (int i = 0; i < lookups; i++)
        {
            uint expected = NaiveTable.Lookup(rules, ips[i]);
            uint single = lpm.TryLookup(ips[i], out uint nh) ? nh : Lpm4.NotFound;
            if (expected != single) Assert.Fail($"ip {RoutePrefix.ToAddress(ips[i])}: expected {expected}, got {single}");
            Assert.Equal(expected, bulk[i]);
            if (expected != Lpm4.NotFound) hits++;
        }
        Assert.True(hits > lookups / 4, $"only {hits} hits");
    }
}
