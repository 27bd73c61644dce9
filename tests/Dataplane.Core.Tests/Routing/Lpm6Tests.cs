using System.Net;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Routing;

public class Lpm6Tests : IDisposable
{
    private readonly Lpm6 _lpm = new(maxTbl8Groups: 256);

    public void Dispose() => _lpm.Dispose();

    private static UInt128 Ip(string s) => RoutePrefix.ParseV6(s).Prefix;

    private void Add(string cidr, uint nh)
    {
        var (p, d) = RoutePrefix.ParseV6(cidr);
        _lpm.Add(p, d, nh);
    }

    private bool Remove(string cidr)
    {
        var (p, d) = RoutePrefix.ParseV6(cidr);
        return _lpm.Remove(p, d);
    }

    private uint? Lookup(string ip)
    {
        bool hit = _lpm.TryLookup(Ip(ip), out uint nh);
        // The network-order byte overload must agree.
        Assert.Equal(hit, _lpm.TryLookup(IPAddress.Parse(ip).GetAddressBytes(), out uint nhBytes));
        Assert.Equal(nh, nhBytes);
        return hit ? nh : null;
    }

    [Fact]
    public void AddressesAreBigEndianUInt128()
    {
        Assert.Equal(new UInt128(0x20010db8_00000000, 1), Ip("2001:db8::1"));
        Assert.Equal((new UInt128(0x20010db8_00000000, 0), 32), RoutePrefix.ParseV6("2001:db8::/32"));
    }

    [Fact]
    public void DefaultRouteMatchesEverything()
    {
        Assert.Null(Lookup("2001:db8::1"));
        Add("::/0", 7);
        Assert.Equal(7u, Lookup("::"));
        Assert.Equal(7u, Lookup("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        Assert.True(Remove("::/0"));
        Assert.Null(Lookup("2001:db8::1"));
    }

    [Fact]
    public void HostRouteMatchesOnlyItsAddress()
    {
        Add("2001:db8::1/128", 3);
        Assert.Equal(3u, Lookup("2001:db8::1"));
        Assert.Null(Lookup("2001:db8::"));
        Assert.Null(Lookup("2001:db8::2"));
        Assert.Null(Lookup("2001:db8:0:0:1::1"));
        Assert.Equal(13, _lpm.Tbl8GroupsInUse); // one group per byte below the first three
        Assert.True(Remove("2001:db8::1/128"));
        Assert.Equal(0, _lpm.Tbl8GroupsInUse);
    }

    [Fact]
    public void StrideBoundaries()
    {
        Add("2001:d00::/24", 1);
        Add("2001:d80::/25", 2);
        Add("2001:db8::/32", 3);
        Add("2001:db8:8000::/33", 4);
        Add("2001:db8:1::/48", 5);
        Add("2001:db8:1:2::/63", 6);
        Assert.Equal(1u, Lookup("2001:d00::1"));
        Assert.Equal(2u, Lookup("2001:d80::1"));
        Assert.Equal(3u, Lookup("2001:db8::1"));
        Assert.Equal(3u, Lookup("2001:db8:7fff::1"));
        Assert.Equal(4u, Lookup("2001:db8:8000::1"));
        Assert.Equal(5u, Lookup("2001:db8:1::1"));
        Assert.Equal(5u, Lookup("2001:db8:1:1:ffff::"));
        Assert.Equal(6u, Lookup("2001:db8:1:2::1"));
        Assert.Equal(6u, Lookup("2001:db8:1:3:ffff::1"));
        Assert.Equal(5u, Lookup("2001:db8:1:4::"));
        Assert.Null(Lookup("2001:e00::"));
    }

    [Fact]
    public void ReAddReplacesAndMasksHostBits()
    {
        _lpm.Add(Ip("2001:db8:1:2::99"), 48, 1);
        _lpm.Add(Ip("2001:db8:1::"), 48, 2);
        Assert.Equal(1, _lpm.Count);
        Assert.True(_lpm.TryGetRule(Ip("2001:db8:1::"), 48, out uint nh));
        Assert.Equal(2u, nh);
        Assert.Equal(2u, Lookup("2001:db8:1:ffff::"));
    }

    [Fact]
    public void RemoveRestoresCoveringPrefixAndFoldsGroups()
    {
        Add("::/0", 9);
        Add("2001:db8::/32", 1);
        Add("2001:db8:1::/48", 2);
        Add("2001:db8:1:2::/64", 3);
        Add("2001:db8:1:2::1/128", 4);
        Assert.Equal(4u, Lookup("2001:db8:1:2::1"));

        Assert.True(Remove("2001:db8:1:2::1/128"));
        Assert.Equal(3u, Lookup("2001:db8:1:2::1"));
        Assert.True(Remove("2001:db8:1::/48"));
        Assert.Equal(3u, Lookup("2001:db8:1:2::1"));
        Assert.Equal(1u, Lookup("2001:db8:1:3::1"));
        Assert.True(Remove("2001:db8:1:2::/64"));
        Assert.Equal(1u, Lookup("2001:db8:1:2::1"));
        Assert.Equal(1, _lpm.Tbl8GroupsInUse); // only the /32's group remains
        Assert.True(Remove("2001:db8::/32"));
        Assert.Equal(9u, Lookup("2001:db8:1:2::1"));
        Assert.Equal(0, _lpm.Tbl8GroupsInUse);
    }

    [Fact]
    public void RemoveOfUnknownPrefixReturnsFalse()
    {
        Add("2001:db8::/32", 1);
        Assert.False(Remove("2001:db8::/33"));
        Assert.False(Remove("2001:db9::/32"));
        Assert.Equal(1, _lpm.Count);
    }

    [Fact]
    public void RunningOutOfTbl8GroupsThrowsAndLeavesTableIntact()
    {
        using var lpm = new Lpm6(maxTbl8Groups: 14);
        lpm.Add(Ip("2001:db8::1"), 128, 1); // 13 groups
        Assert.Throws<InvalidOperationException>(() => lpm.Add(Ip("2002:db9::1"), 128, 2));
        Assert.Equal(1, lpm.Count);
        Assert.False(lpm.TryLookup(Ip("2002:db9::1"), out _));
        lpm.Add(Ip("2002:db9::"), 32, 3); // needs exactly the one free group
        Assert.Equal(14, lpm.Tbl8GroupsInUse);
        Assert.True(lpm.TryLookup(Ip("2001:db8::1"), out uint nh));
        Assert.Equal(1u, nh);
    }

    [Fact]
    public void ArgumentsAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _lpm.Add(0, 129, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => _lpm.Add(0, 8, Lpm6.MaxNextHop + 1));
        Assert.Throws<ArgumentException>(() => _lpm.TryLookup(new byte[15], out _));
        Assert.Throws<ArgumentException>(() => _lpm.LookupBulk(new UInt128[2], new uint[1]));
    }

    [Fact]
    public void BulkWalksLanesOfDifferentDepthsTogether()
    {
        // Route tags of depths 126 and 127 OR to the group tag; the side-by-side walk must not mistake them.
        Add("2001:db8::4/126", 1);
        Add("2001:db8::2/127", 2);
        Add("2001:db8::1/128", 3);
        Add("2001:db8:1::/48", 4);
        UInt128[] ips = [Ip("2001:db8::5"), Ip("2001:db8::3"), Ip("2001:db8::1"), Ip("2001:db8:1::9"), Ip("2001:db9::"), Ip("2001:db8::8")];
        var got = new uint[ips.Length];
        _lpm.LookupBulk(ips, got);
        Assert.Equal([1u, 2u, 3u, 4u, Lpm6.NotFound, Lpm6.NotFound], got);
    }

    [Fact]
    public void BulkMatchesSingleLookups()
    {
        var rnd = new Random(7);
        UInt128 Random128() => new((ulong)rnd.NextInt64() & 0x2001_0db8_00ff_ffff, (ulong)rnd.NextInt64());
        for (int i = 0; i < 500; i++) _lpm.TryAdd(Random128(), rnd.Next(24, 129), (uint)i);
        for (int len = 0; len <= 45; len++)
        {
            var ips = new UInt128[len];
            for (int i = 0; i < len; i++) ips[i] = Random128();
            var got = new uint[len];
            _lpm.LookupBulk(ips, got);
            for (int i = 0; i < len; i++)
                Assert.Equal(_lpm.TryLookup(ips[i], out uint nh) ? nh : Lpm6.NotFound, got[i]);
        }
    }
}
