using System.Net;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Config;

/// <summary>Routes learned by BGP are a compile input: below configured routes, ECMP over resolvable next hops.</summary>
public class LearnedRouteCompileTests
{
    private static NextHop RouteTo(Snapshot.DatapathSnapshot s, string prefix)
    {
        var net = IPNetwork.Parse(prefix);
        var (_, nh) = Assert.Single(s.Routes, r => r.Prefix.Equals(net));
        return s.NextHops[nh];
    }

    [Fact]
    public void LearnedRoutesRankBelowConfiguredOnesAndFormEcmpGroups()
    {
        var m = ConfigYaml.Load("");
        m = m with
        {
            Nodes = [m.LocalNode],
            LearnedRoutes =
            [
                // Two peers (both known neighbours on eth0 / eth1): one ECMP group.
                new(IPNetwork.Parse("198.18.64.0/24"), [IPAddress.Parse("198.18.0.11"), IPAddress.Parse("198.18.1.254")], "bgp"),
                // A configured static route exists for this prefix: the static one stays.
                new(IPNetwork.Parse("198.19.2.0/24"), [IPAddress.Parse("198.18.1.254")], "bgp"),
                // The connected subnet stays connected.
                new(IPNetwork.Parse("198.18.0.0/24"), [IPAddress.Parse("198.18.1.254")], "bgp"),
                // A next hop on a connected subnet but no static neighbour: resolved by ARP/ND at run time.
                new(IPNetwork.Parse("198.18.66.0/24"), [IPAddress.Parse("198.18.1.77")], "bgp"),
                // A next hop on no connected subnet: not installed.
                new(IPNetwork.Parse("198.18.65.0/24"), [IPAddress.Parse("198.18.99.77")], "bgp"),
            ],
        };
        var s = SnapshotCompiler.Compile(m);
        var group = RouteTo(s, "198.18.64.0/24");
        Assert.Equal(NextHopKind.Multipath, group.Kind);
        Assert.Equal(2, group.Port);
        var members = new[] { s.NextHops[group.Endpoint].DstMac, s.NextHops[group.Endpoint + 1].DstMac };
        Assert.Equal([0x02_00_00_00_00_0bUL, 0x02_00_00_00_00_feUL], members.Order());
        Assert.Equal(0x02_00_00_00_00_0bUL, RouteTo(s, "198.19.2.0/24").DstMac);   // static via 198.18.0.11
        Assert.Equal(NextHopKind.Glean, RouteTo(s, "198.18.0.0/24").Kind);
        var dynamic = RouteTo(s, "198.18.66.0/24");
        Assert.Equal(NextHopKind.Gateway, dynamic.Kind);
        Assert.Equal((UInt128)RoutePrefix.ToUInt32(IPAddress.Parse("198.18.1.77")), dynamic.Via);
        Assert.DoesNotContain(s.Routes, r => r.Prefix.Equals(IPNetwork.Parse("198.18.65.0/24")));
    }
}
