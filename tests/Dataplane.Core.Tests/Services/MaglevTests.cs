using Dataplane.Core.Services;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Tests.Services;

public class MaglevTests
{
    private static List<MaglevBackend> Backends(int n) =>
        Enumerable.Range(0, n).Select(i => new MaglevBackend($"198.18.{i / 250}.{i % 250 + 1}:8080/TCP")).ToList();

    /// <summary>Random 5-tuple hashes, as the pipeline computes them.</summary>
    private static uint[] Flows(int count, int seed)
    {
        var rng = new Random(seed);
        var flows = new uint[count];
        for (int i = 0; i < count; i++)
            flows[i] = FlowHash.Finish(FlowHash.Mix(FlowHash.Ipv4((uint)rng.Next(), 0xC6120A01, 6), (uint)rng.Next()));
        return flows;
    }

    [Theory]
    [InlineData(10, 16381)]
    [InlineData(100, 65537)]
    public void EveryBackendGetsAnEvenShare(int n, int m)
    {
        var ring = Maglev.BuildRing(Backends(n), m);
        Assert.Equal(m, ring.Length);
        var counts = new int[n];
        foreach (var b in ring) counts[b]++;
        double fair = (double)m / n;
        Assert.All(counts, c => Assert.InRange(c, fair * 0.9, fair * 1.1));
    }

    /// <summary>
    /// The removed backend's flows must move (1/N); Maglev's extra disruption of other flows stays small
    /// when the table is much larger than the backend count (the paper's M ≫ 100·N regime).
    /// </summary>
    [Theory]
    [InlineData(10, 16381)]
    [InlineData(20, 16381)]
    [InlineData(50, 65537)]
    public void RemovingOneOfNBackendsMovesAboutOneNthOfFlows(int n, int m)
    {
        var all = Backends(n);
        var before = Maglev.BuildRing(all, m);
        var removed = all[n / 2];
        var remaining = all.Where(b => b != removed).ToList();
        var after = Maglev.BuildRing(remaining, m);

        var flows = Flows(200_000, 7);
        int moved = 0, movedFromSurvivors = 0;
        foreach (var h in flows)
        {
            var was = all[before[h % (uint)m]];
            var now = remaining[after[h % (uint)m]];
            if (was != now)
            {
                moved++;
                if (was != removed) movedFromSurvivors++;
            }
        }
        double fraction = (double)moved / flows.Length;
        Console.WriteLine($"maglev n={n} m={m}: moved {fraction:P2} (1/N = {1.0 / n:P2}), survivors' flows moved {(double)movedFromSurvivors / flows.Length:P2}");
        Assert.InRange(fraction, 0.8 / n, 1.5 / n);
        Assert.True((double)movedFromSurvivors / flows.Length < 0.5 / n,
            $"{movedFromSurvivors} flows of surviving backends moved");
    }

    [Fact]
    public void RingIsTheSameWhateverTheInputOrder()
    {
        var a = Backends(20);
        var b = Enumerable.Reverse(a).ToList();
        var ra = Maglev.BuildRing(a, 1009);
        var rb = Maglev.BuildRing(b, 1009);
        for (int i = 0; i < ra.Length; i++) Assert.Equal(a[ra[i]], b[rb[i]]);
    }

    [Fact]
    public void WeightsScaleTheShare()
    {
        var backends = new List<MaglevBackend> { new("198.18.0.1:80/TCP", 1), new("198.18.0.2:80/TCP", 3), new("198.18.0.3:80/TCP", 0) };
        var ring = Maglev.BuildRing(backends, 16381);
        int one = ring.Count(x => x == 0), three = ring.Count(x => x == 1), zero = ring.Count(x => x == 2);
        Assert.Equal(0, zero);
        Assert.InRange((double)three / one, 2.7, 3.3);
        Assert.Empty(Maglev.BuildRing([new("198.18.0.1:80/TCP", 0)], 7));
    }

    [Theory]
    [InlineData(16380)]
    [InlineData(1)]
    public void SizeMustBePrime(int m) => Assert.Throws<ArgumentException>(() => Maglev.BuildRing(Backends(3), m));

    [Fact]
    public void SizeMustExceedBackendCount() => Assert.Throws<ArgumentException>(() => Maglev.BuildRing(Backends(7), 7));
}
