using System.Runtime.Intrinsics;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Routing;

public class Lpm4Tests : IDisposable
{
    private readonly Lpm4 _lpm = new(maxTbl8Groups: 64);

    public void Dispose() => _lpm.Dispose();

    private static uint Ip(string s) => RoutePrefix.ParseV4(s).Prefix;

    private void Add(string cidr, uint nh)
    {
        var (p, d) = RoutePrefix.ParseV4(cidr);
        _lpm.Add(p, d, nh);
    }

    private uint? Lookup(string ip) => _lpm.TryLookup(Ip(ip), out uint nh) ? nh : null;

    [Fact]
    public void EmptyTableMisses()
    {
        Assert.Null(Lookup("1.2.3.4"));
        Assert.False(_lpm.TryLookup(0, out _));
        Assert.Equal(0, _lpm.Count);
    }

    [Fact]
    public void DefaultRouteMatchesEverything()
    {
        Add("0.0.0.0/0", 7);
        Assert.Equal(7u, Lookup("0.0.0.0"));
        Assert.Equal(7u, Lookup("255.255.255.255"));
        Assert.Equal(7u, Lookup("198.18.0.1"));
        Assert.True(_lpm.Remove(0, 0));
        Assert.Null(Lookup("198.18.0.1"));
    }

    [Fact]
    public void HostRouteMatchesOnlyItsAddress()
    {
        Add("10.0.0.1/32", 3);
        Assert.Equal(3u, Lookup("10.0.0.1"));
        Assert.Null(Lookup("10.0.0.0"));
        Assert.Null(Lookup("10.0.0.2"));
        Assert.Equal(1, _lpm.Tbl8GroupsInUse);
    }

    [Fact]
    public void Slash24And25And31Boundaries()
    {
        Add("10.1.2.0/24", 1);
        Add("10.1.2.128/25", 2);
        Add("10.1.2.254/31", 3);
        Assert.Equal(1u, Lookup("10.1.2.0"));
        Assert.Equal(1u, Lookup("10.1.2.127"));
        Assert.Equal(2u, Lookup("10.1.2.128"));
        Assert.Equal(2u, Lookup("10.1.2.253"));
        Assert.Equal(3u, Lookup("10.1.2.254"));
        Assert.Equal(3u, Lookup("10.1.2.255"));
        Assert.Null(Lookup("10.1.3.0"));
        Assert.Null(Lookup("10.1.1.255"));
    }

    [Fact]
    public void OverlappingPrefixesAreOrderIndependent()
    {
        string[] routes = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.64/26", "10.1.2.65/32"];
        using var reversed = new Lpm4(64);
        for (int i = 0; i < routes.Length; i++) Add(routes[i], (uint)i + 1);
        for (int i = routes.Length - 1; i >= 0; i--)
        {
            var (p, d) = RoutePrefix.ParseV4(routes[i]);
            reversed.Add(p, d, (uint)i + 1);
        }
        foreach (var (ip, nh) in new[] { ("10.9.9.9", 1u), ("10.1.9.9", 2u), ("10.1.2.1", 3u), ("10.1.2.64", 4u), ("10.1.2.65", 5u), ("10.1.2.127", 4u), ("10.1.2.128", 3u) })
        {
            Assert.Equal(nh, Lookup(ip));
            Assert.True(reversed.TryLookup(Ip(ip), out uint r));
            Assert.Equal(nh, r);
        }
    }

    [Fact]
    public void ReAddReplacesNextHop()
    {
        Add("10.1.2.0/24", 1);
        Add("10.1.2.128/25", 2);
        Add("10.1.2.0/24", 11);
        Add("10.1.2.128/25", 12);
        Assert.Equal(2, _lpm.Count);
        Assert.Equal(11u, Lookup("10.1.2.1"));
        Assert.Equal(12u, Lookup("10.1.2.200"));
    }

    [Fact]
    public void PrefixBitsBeyondDepthAreMasked()
    {
        _lpm.Add(Ip("10.1.2.3"), 16, 5);
        Assert.True(_lpm.TryGetRule(Ip("10.1.0.0"), 16, out uint nh));
        Assert.Equal(5u, nh);
        Assert.Equal(5u, Lookup("10.1.200.1"));
        Assert.True(_lpm.Remove(Ip("10.1.99.99"), 16));
        Assert.Equal(0, _lpm.Count);
    }

    [Fact]
    public void RemoveRestoresCoveringPrefix()
    {
        Add("0.0.0.0/0", 9);
        Add("10.0.0.0/8", 1);
        Add("10.1.0.0/16", 2);
        Add("10.1.2.0/24", 3);
        Add("10.1.2.128/25", 4);

        Assert.True(_lpm.Remove(Ip("10.1.2.128"), 25));
        Assert.Equal(3u, Lookup("10.1.2.200"));
        Assert.Equal(0, _lpm.Tbl8GroupsInUse); // the group folded back into tbl24

        Assert.True(_lpm.Remove(Ip("10.1.2.0"), 24));
        Assert.Equal(2u, Lookup("10.1.2.200"));

        Assert.True(_lpm.Remove(Ip("10.0.0.0"), 8));
        Assert.Equal(2u, Lookup("10.1.2.200")); // the /16 is untouched
        Assert.Equal(9u, Lookup("10.2.0.1"));   // outside it, the default route

        Assert.True(_lpm.Remove(0, 0));
        Assert.Null(Lookup("10.2.0.1"));
        Assert.Equal(2u, Lookup("10.1.0.1"));
    }

    [Fact]
    public void RemovingShortPrefixUpdatesSlotsInsideGroups()
    {
        Add("10.1.0.0/16", 2);
        Add("10.1.2.128/25", 4);
        Add("10.0.0.0/8", 1);
        Assert.True(_lpm.Remove(Ip("10.1.0.0"), 16));
        Assert.Equal(1u, Lookup("10.1.2.1"));
        Assert.Equal(4u, Lookup("10.1.2.129"));
        Assert.True(_lpm.Remove(Ip("10.1.2.128"), 25));
        Assert.Equal(1u, Lookup("10.1.2.129"));
        Assert.Equal(0, _lpm.Tbl8GroupsInUse);
    }

    [Fact]
    public void RemoveOfUnknownPrefixReturnsFalse()
    {
        Add("10.1.0.0/16", 2);
        Assert.False(_lpm.Remove(Ip("10.2.0.0"), 16));
        Assert.False(_lpm.Remove(Ip("10.1.0.0"), 17));
        Assert.False(_lpm.Remove(Ip("10.1.0.0"), 32));
        Assert.Equal(1, _lpm.Count);
        Assert.Equal(2u, Lookup("10.1.0.0"));
    }

    [Fact]
    public void RunningOutOfTbl8GroupsThrowsAndLeavesTableIntact()
    {
        using var lpm = new Lpm4(maxTbl8Groups: 2);
        lpm.Add(Ip("10.0.0.1"), 32, 1);
        lpm.Add(Ip("10.0.0.2"), 32, 2); // same /24, same group
        lpm.Add(Ip("10.0.1.1"), 32, 3);
        var ex = Assert.Throws<InvalidOperationException>(() => lpm.Add(Ip("10.0.2.1"), 32, 4));
        Assert.Contains("tbl8", ex.Message);
        Assert.False(lpm.TryAdd(Ip("10.0.2.1"), 32, 4));
        Assert.Equal(3, lpm.Count);
        Assert.False(lpm.TryLookup(Ip("10.0.2.1"), out _));
        lpm.Add(Ip("10.0.2.0"), 24, 5); // /24 and shorter never need a group
        Assert.True(lpm.Remove(Ip("10.0.1.1"), 32));
        lpm.Add(Ip("10.0.2.1"), 32, 4);
        Assert.True(lpm.TryLookup(Ip("10.0.2.1"), out uint nh));
        Assert.Equal(4u, nh);
        Assert.True(lpm.TryLookup(Ip("10.0.2.2"), out nh));
        Assert.Equal(5u, nh);
    }

    [Fact]
    public void ArgumentsAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _lpm.Add(0, 33, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _lpm.Add(0, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _lpm.Add(0, 8, Lpm4.MaxNextHop + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _lpm.Remove(0, 33));
        Assert.Throws<ArgumentException>(() => _lpm.LookupBulk(new uint[4], new uint[3]));
        _lpm.Add(0, 8, Lpm4.MaxNextHop);
        Assert.Equal(Lpm4.MaxNextHop, Lookup("0.1.2.3"));
    }

    [Fact]
    public void BulkMatchesSingleLookups()
    {
        var rnd = new Random(42);
        for (int i = 0; i < 2000; i++)
        {
            int depth = rnd.Next(8, 33);
            _lpm.TryAdd((uint)rnd.Next() << 1 & 0x0FFF_FFFF, depth, (uint)i); // keep most within 0.0.0.0/4
        }
        for (int len = 0; len <= 70; len++)
        {
            var ips = new uint[len];
            for (int i = 0; i < len; i++) ips[i] = (uint)rnd.Next() & 0x0FFF_FFFF;
            var got = new uint[len];
            _lpm.LookupBulk(ips, got);
            for (int i = 0; i < len; i++)
                Assert.Equal(_lpm.TryLookup(ips[i], out uint nh) ? nh : Lpm4.NotFound, got[i]);
            for (int i = 0; i + 4 <= len; i += 4)
                Assert.Equal(Vector128.Create(got[i], got[i + 1], got[i + 2], got[i + 3]),
                    _lpm.LookupX4(Vector128.Create(ips[i], ips[i + 1], ips[i + 2], ips[i + 3])));
        }
    }
}
