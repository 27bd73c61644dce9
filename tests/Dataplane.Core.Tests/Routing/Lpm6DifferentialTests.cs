using System.Buffers.Binary;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Routing;

/// <summary>Random adds and removes checked against a naive linear-scan longest-prefix match.</summary>
public class Lpm6DifferentialTests
{
    private readonly record struct NaiveRule(ulong Hi, ulong Lo, ulong MaskHi, ulong MaskLo, uint NextHop);

    private static NaiveRule[] Snapshot(Dictionary<(UInt128 Prefix, int Depth), uint> rules) =>
        rules.OrderByDescending(r => r.Key.Depth).Select(r =>
        {
            UInt128 mask = r.Key.Depth == 0 ? 0 : UInt128.MaxValue << (128 - r.Key.Depth);
            return new NaiveRule((ulong)(r.Key.Prefix >> 64), (ulong)r.Key.Prefix, (ulong)(mask >> 64), (ulong)mask, r.Value);
        }).ToArray();

    /// <summary>Rules are longest first, so the first match is the answer.</summary>
    private static uint NaiveLookup(NaiveRule[] rules, UInt128 ip)
    {
        ulong hi = (ulong)(ip >> 64), lo = (ulong)ip;
        foreach (var r in rules)
            if ((hi & r.MaskHi) == r.Hi && (lo & r.MaskLo) == r.Lo) return r.NextHop;
        return Lpm6.NotFound;
    }

    private static UInt128 Random128(Random rnd) => new((ulong)rnd.NextInt64(), (ulong)rnd.NextInt64());

    [Fact]
    public void MatchesNaiveLinearScan()
    {
        var rnd = new Random(6106);
        using var lpm = new Lpm6(maxTbl8Groups: 1 << 17);
        var rules = new Dictionary<(UInt128, int), uint>();
        var keys = new List<(UInt128 Prefix, int Depth)>();
        // Prefixes cluster under a few /32s so that they nest; not too few, as a short prefix above a big
        // cluster repaints its whole subtree (slow in a Debug build).
        var bases = new ulong[16];
        for (int i = 0; i < bases.Length; i++) bases[i] = 0x2000_0000UL | (uint)rnd.Next(1 << 28);

        for (int i = 0; i < 5000; i++)
        {
            UInt128 prefix; int depth;
            if (keys.Count > 0 && rnd.Next(3) == 0)
            {
                // Extend an existing prefix, so that prefixes nest.
                var (p, d) = keys[rnd.Next(keys.Count)];
                depth = Math.Min(128, d + rnd.Next(1, 40));
                prefix = Lpm6.Mask(p | (Random128(rnd) & (d == 0 ? UInt128.MaxValue : UInt128.MaxValue >> d)), depth);
            }
            else
            {
                depth = rnd.Next(200) == 0 ? rnd.Next(8, 24) : rnd.Next(24, 129);
                UInt128 r = Random128(rnd);
                if (rnd.Next(4) != 0) r = ((UInt128)bases[rnd.Next(bases.Length)] << 96) | (r & (UInt128.MaxValue >> 32));
                prefix = Lpm6.Mask(r, depth);
            }
            uint nh = (uint)rnd.Next(1 << 24);
            lpm.Add(prefix, depth, nh);
            if (!rules.ContainsKey((prefix, depth))) keys.Add((prefix, depth));
            rules[(prefix, depth)] = nh;
        }
        Check(lpm, rules, rnd, keys, 40_000);

        for (int i = 0; i < 3000; i++)
        {
            var (p, d) = keys[rnd.Next(keys.Count)];
            Assert.Equal(rules.Remove((p, d)), lpm.Remove(p, d));
        }
        for (int i = 0; i < 200; i++)
        {
            UInt128 p = Random128(rnd); int d = rnd.Next(24, 129);
            Assert.Equal(rules.Remove((Lpm6.Mask(p, d), d)), lpm.Remove(p, d));
        }
        for (int i = 0; i < 800; i++)
        {
            var (p, d) = keys[rnd.Next(keys.Count)];
            uint nh = (uint)rnd.Next(1 << 24);
            lpm.Add(p, d, nh);
            rules[(p, d)] = nh;
        }
        Check(lpm, rules, rnd, keys, 40_000);

        foreach (var (p, d) in rules.Keys.ToArray()) Assert.True(lpm.Remove(p, d));
        Assert.Equal(0, lpm.Count);
        Assert.Equal(0, lpm.Tbl8GroupsInUse);
        for (int i = 0; i < 10_000; i++) Assert.False(lpm.TryLookup(Random128(rnd), out _));
    }

    private static void Check(Lpm6 lpm, Dictionary<(UInt128, int), uint> rules, Random rnd,
        List<(UInt128 Prefix, int Depth)> keys, int lookups)
    {
        Assert.Equal(rules.Count, lpm.Count);
        var naive = Snapshot(rules);
        var ips = new UInt128[lookups];
        for (int i = 0; i < lookups; i++)
        {
            if (rnd.Next(3) == 0) { ips[i] = Random128(rnd); continue; }
            var (p, d) = keys[rnd.Next(keys.Count)]; // an address inside a (possibly removed) prefix
            ips[i] = p | (d == 128 ? 0 : Random128(rnd) & (UInt128.MaxValue >> d));
        }
        var bulk = new uint[lookups];
        lpm.LookupBulk(ips, bulk);
        Span<byte> wire = stackalloc byte[16];
        int hits = 0;
        for (int i = 0; i < lookups; i++)
        {
            uint expected = NaiveLookup(naive, ips[i]);
            uint single = lpm.TryLookup(ips[i], out uint nh) ? nh : Lpm6.NotFound;
            if (expected != single) Assert.Fail($"ip {RoutePrefix.ToAddress(ips[i])}: expected {expected}, got {single}");
            Assert.Equal(expected, bulk[i]);
            BinaryPrimitives.WriteUInt128BigEndian(wire, ips[i]);
            Assert.Equal(expected, lpm.TryLookup(wire, out nh) ? nh : Lpm6.NotFound);
            if (expected != Lpm6.NotFound) hits++;
        }
        Assert.True(hits > lookups / 4, $"only {hits} hits");
    }
}
