using System.Net;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Tests.Routing;

/// <summary>
/// A snapshot built with the previous one copies its LPM tables and applies the route changes (a BGP table arriving,
/// then churning) instead of refilling them. Whatever path it takes, every lookup must answer as tables filled from
/// scratch with the same routes: checked on random IPv4 and IPv6 route sets over many generations, at every route's
/// first and last address and at random ones, and the previous snapshot's tables must be left as they were.
/// </summary>
public class SnapshotRouteUpdateTests
{
    private const int Hops = 5;

    [Theory]
    [InlineData(1, 400, 8)]     // a few changes each generation: copied and updated
    [InlineData(2, 150, 400)]   // more changes than routes: refilled
    [InlineData(3, 3000, 40)]
    public void UpdatedTablesAnswerAsFilledOnes(int seed, int size, int churn)
    {
        var rng = new Random(seed);
        var routes = new Dictionary<IPNetwork, int>();
        DatapathSnapshot? previous = null;
        for (int generation = 0; generation < 12; generation++)
        {
            // Grow to size, then churn: remove some, re-point some, add some (v4 and v6, /8../32 and /16../128).
            int target = generation < 3 ? size * (generation + 1) / 3 : size;
            foreach (var p in routes.Keys.OrderBy(_ => rng.Next()).Take(generation < 3 ? 0 : churn).ToList()) routes.Remove(p);
            foreach (var p in routes.Keys.OrderBy(_ => rng.Next()).Take(churn / 2).ToList()) routes[p] = rng.Next(Hops);
            while (routes.Count < target) routes[RandomPrefix(rng)] = rng.Next(Hops);

            var before = previous is null ? null : Probe(previous, routes.Keys, rng, seed);
            var updated = Build(routes, previous);
            var filled = Build(routes, null);
            var probes = routes.Keys.SelectMany(Ends).Concat(RandomAddresses(new Random(generation), 2000)).ToList();
            foreach (var a in probes)
                Assert.True(Lookup(filled, a) == Lookup(updated, a), $"generation {generation}: {a} → filled {Lookup(filled, a)}, updated {Lookup(updated, a)}");
            if (previous is not null) Assert.Equal(before, Probe(previous, routes.Keys, rng, seed));
            previous = updated;
        }
    }

    [Fact]
    public void AFamilyWithoutChangesKeepsItsTableAndTheOtherIsACopy()
    {
        var routes = new Dictionary<IPNetwork, int> { [IPNetwork.Parse("198.18.0.0/16")] = 1, [IPNetwork.Parse("2001:db8::/32")] = 2 };
        var first = Build(routes, null);
        routes[IPNetwork.Parse("2001:db8:1::/48")] = 3;
        var second = Build(routes, first);
        Assert.Same(first.Routes4, second.Routes4);
        Assert.NotSame(first.Routes6, second.Routes6);
        Assert.Equal(3, Lookup(second, IPAddress.Parse("2001:db8:1::9")));
        Assert.Equal(2, Lookup(first, IPAddress.Parse("2001:db8:1::9")));
    }

    private static DatapathSnapshot Build(Dictionary<IPNetwork, int> routes, DatapathSnapshot? previous)
    {
        var b = new SnapshotBuilder();
        b.AddInterface("eth0", 0x02_00_00_00_00_10);
        // Next hops 0..Hops-1 in a fixed order, so an index means the same hop in every generation.
        var hops = Enumerable.Range(0, Hops).Select(h => NextHop.GleanOn(0, 0x02_00_00_00_00_10 + (ulong)h)).ToArray();
        foreach (var h in hops) b.AddNextHop(h);
        foreach (var (prefix, hop) in routes) b.AddRoute(prefix, hops[hop]);
        return b.Build(previous);
    }

    /// <summary>The next-hop index for an address, or -1.</summary>
    private static int Lookup(DatapathSnapshot s, IPAddress a) =>
        a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? s.Routes4.TryLookup(RoutePrefix.ToUInt32(a), out uint nh4) ? (int)nh4 : -1
            : s.Routes6.TryLookup(RoutePrefix.ToUInt128(a), out uint nh6) ? (int)nh6 : -1;

    private static List<int> Probe(DatapathSnapshot s, IEnumerable<IPNetwork> prefixes, Random rng, int seed) =>
        [.. prefixes.Take(200).SelectMany(Ends).Concat(RandomAddresses(new Random(seed), 500)).Select(a => Lookup(s, a))];

    private static IPNetwork RandomPrefix(Random rng)
    {
        if (rng.Next(2) == 0)
        {
            int length = rng.Next(8, 33);
            uint a = 0xC6120000u | (uint)rng.Next(1 << 16);   // 198.18.0.0/15's space, and wider prefixes around it
            if (length < 15) a = (uint)rng.Next() << 1;
            return new IPNetwork(RoutePrefix.ToAddress(Lpm4.Mask(a, length)), length);
        }
        int len6 = rng.Next(16, 129);
        UInt128 v6 = ((UInt128)0x20010db8u << 96) | ((UInt128)(ulong)rng.NextInt64() << 32) | (uint)rng.Next();
        if (rng.Next(4) == 0) v6 |= (UInt128)(ulong)rng.NextInt64() << 64;
        return new IPNetwork(RoutePrefix.ToAddress(Lpm6.Mask(v6, len6)), len6);
    }

    private static IEnumerable<IPAddress> Ends(IPNetwork p)
    {
        yield return p.BaseAddress;
        var bytes = p.BaseAddress.GetAddressBytes();
        for (int bit = p.PrefixLength; bit < bytes.Length * 8; bit++) bytes[bit / 8] |= (byte)(0x80 >> (bit % 8));
        yield return new IPAddress(bytes);
    }

    private static IEnumerable<IPAddress> RandomAddresses(Random rng, int n)
    {
        for (int i = 0; i < n; i++)
            yield return i % 2 == 0
                ? RoutePrefix.ToAddress(rng.Next(3) == 0 ? (uint)rng.Next() << 1 : 0xC6120000u | (uint)rng.Next(1 << 16))
                : RoutePrefix.ToAddress(((UInt128)0x20010db8u << 96) | ((UInt128)(ulong)rng.NextInt64() << 32) | (uint)rng.Next());
    }
}
