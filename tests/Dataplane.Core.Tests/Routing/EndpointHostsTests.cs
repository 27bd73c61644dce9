using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Tests.Routing;

/// <summary>The pods' address table beside the LPM, and how the snapshot builder decides what goes where.</summary>
public class EndpointHostsTests
{
    [Fact]
    public void FindsEveryKeyAndNoOtherInDenseAndSparseSets()
    {
        // Consecutive addresses (what IPAM hands out) and scattered ones, both families.
        var v4 = Enumerable.Range(0, 1000).Select(i => (0xC6120000u + (uint)i, (uint)i * 3)).ToList();
        v4.AddRange(Enumerable.Range(0, 200).Select(i => (0x0A000000u + (uint)i * 65537u, 5000u + (uint)i)));
        var v6 = Enumerable.Range(0, 500).Select(i => (((UInt128)0x20010db8u << 96) + (UInt128)(uint)i, 9000u + (uint)i)).ToList();
        var t = new EndpointHosts(v4, v6);
        Assert.Equal(1700, t.Count);
        foreach (var (a, nh) in v4) Assert.True(t.TryFind4(a, out var got) && got == nh);
        foreach (var (a, nh) in v6) Assert.True(t.TryFind6(a, out var got) && got == nh);
        Assert.False(t.TryFind4(0xC6120000u + 1000, out _));
        Assert.False(t.TryFind4(0, out _));
        Assert.False(t.TryFind6(((UInt128)0x20010db8u << 96) + 500, out _));
        Assert.False(EndpointHosts.Empty.TryFind4(0xC6120001, out _));
        Assert.False(EndpointHosts.Empty.TryFind6(1, out _));
    }

    private static SnapshotBuilder NodeWithPodCidr(out ushort uplink)
    {
        var b = new SnapshotBuilder();
        uplink = b.AddInterface("eth0", 0x02_00_00_00_00_10);
        b.AddRoute(IPNetwork.Parse("198.18.4.0/24"), NextHop.NoEndpoint);
        b.AddRoute(IPNetwork.Parse("2001:db8:4::/64"), NextHop.NoEndpoint);
        return b;
    }

    [Fact]
    public void PodsInThePodCidrAreNotHostRoutesAndAreNumberedAfterEveryRoute()
    {
        var b = NodeWithPodCidr(out _);
        var ep = b.AddEndpoint("ns", "a", ImmutableSortedDictionary<string, string>.Empty, "lxc-a", 0x02_00_00_00_00_0a,
            [IPAddress.Parse("198.18.4.7"), IPAddress.Parse("2001:db8:4::7")]);
        var s = b.Build();
        Assert.DoesNotContain(s.Routes, r => r.Prefix.PrefixLength is 32 or 128);
        Assert.True(s.LocalHosts.TryFind4(0xC6120407, out var nh4));
        Assert.True(s.LocalHosts.TryFind6(RoutePrefix.ToUInt128(IPAddress.Parse("2001:db8:4::7")), out var nh6));
        Assert.Equal(nh4, nh6);
        Assert.Equal(ep.Id, s.NextHops[nh4].Endpoint);
        Assert.True(s.Routes.All(r => r.NextHop < nh4));
        // What a FIB without an endpoints map holds for it (the eBPF program's).
        Assert.Equal(["198.18.4.7/32", "2001:db8:4::7/128"], s.EndpointRoutes.Select(r => r.Prefix.ToString()).Order());
    }

    [Fact]
    public void APodShadowedByALongerRouteOrOutsideEveryPodCidrIsAHostRouteAsBefore()
    {
        var b = NodeWithPodCidr(out var uplink);
        b.AddRoute(IPNetwork.Parse("198.18.4.0/28"), new NextHop(NextHopKind.Port, uplink, 0x02_00_00_00_00_99, 0x02_00_00_00_00_10, 0));
        b.AddEndpoint("ns", "under-route", ImmutableSortedDictionary<string, string>.Empty, "lxc-a", 0x02_00_00_00_00_0a, [IPAddress.Parse("198.18.4.7")]);
        b.AddEndpoint("ns", "outside", ImmutableSortedDictionary<string, string>.Empty, "lxc-b", 0x02_00_00_00_00_0b, [IPAddress.Parse("198.19.9.9")]);
        b.AddEndpoint("ns", "plain", ImmutableSortedDictionary<string, string>.Empty, "lxc-c", 0x02_00_00_00_00_0c, [IPAddress.Parse("198.18.4.77")]);
        var s = b.Build();
        Assert.Contains(s.Routes, r => r.Prefix.ToString() == "198.18.4.7/32");
        Assert.Contains(s.Routes, r => r.Prefix.ToString() == "198.19.9.9/32");
        Assert.DoesNotContain(s.Routes, r => r.Prefix.ToString() == "198.18.4.77/32");
        Assert.True(s.Routes4.TryLookup(0xC6120407, out var nh) && s.Endpoints[s.NextHops[nh].Endpoint]!.Name == "under-route");
        Assert.True(s.LocalHosts.TryFind4(0xC612044D, out nh) && s.Endpoints[s.NextHops[nh].Endpoint]!.Name == "plain");
        Assert.False(s.LocalHosts.TryFind4(0xC6120407, out _));
    }
}
