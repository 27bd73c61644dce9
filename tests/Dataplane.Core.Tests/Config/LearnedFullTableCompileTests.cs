using System.Collections.Immutable;
using System.Net;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Config;

/// <summary>
/// A learned table of gateway size: 65 536 IPv6 /52s (2001:db8:XXXX::/52, a tbl8 group each: more than
/// the LPM's fixed default held) from two BGP peers. All are installed, every one reaches the same ECMP group (shared,
/// not two next hops appended per prefix), and a lookup in the built table lands on it.
/// </summary>
public class LearnedFullTableCompileTests
{
    private const string Yaml = """
        apiVersion: v1
        kind: Node
        metadata: {name: gw}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: gw}
        spec:
          interfaces:
          - {name: eth0, mac: "02:00:00:00:0a:01", addresses: ["198.18.0.1/24", "fd00:0:0:1::1/64"]}
        """;

    [Fact]
    public void SixtyFiveThousandLearnedPrefixesShareOneEcmpGroup()
    {
        const int n = 1 << 16;
        var peers = ImmutableArray.Create(IPAddress.Parse("fd00:0:0:1::a"), IPAddress.Parse("fd00:0:0:1::b"));
        var learned = ImmutableArray.CreateBuilder<LearnedRouteSpec>(n);
        for (int i = 0; i < n; i++)
            learned.Add(new(new IPNetwork(IPAddress.Parse($"2001:db8:{i:x}::"), 52), peers, "bgp"));
        var model = ConfigLoader.Load([("gw.yaml", Yaml)]) with { LearnedRoutes = learned.MoveToImmutable() };

        var s = SnapshotCompiler.Compile(model);

        Assert.Equal(n, s.Routes.Count(r => r.Prefix.PrefixLength == 52));
        Assert.True(s.Routes6.Tbl8GroupsInUse > 1 << 16, $"the table needed {s.Routes6.Tbl8GroupsInUse} tbl8 groups");
        var groups = s.Routes.Where(r => r.Prefix.PrefixLength == 52).Select(r => r.NextHop).Distinct().ToList();
        var group = s.NextHops[(int)Assert.Single(groups)];
        Assert.Equal(NextHopKind.Multipath, group.Kind);
        Assert.Equal(2, group.Port);
        Assert.True(s.NextHops.Length < 16, $"{s.NextHops.Length} next hops for two peers");
        foreach (string probe in new[] { "2001:db8:0:1::5", "2001:db8:ffff:fff::1", "2001:db8:1234:678::9" })
        {
            Assert.True(s.Routes6.TryLookup(RoutePrefix.ToUInt128(IPAddress.Parse(probe)), out uint nh), probe);
            Assert.Equal(groups[0], nh);
        }
        Assert.False(s.Routes6.TryLookup(RoutePrefix.ToUInt128(IPAddress.Parse("2001:db9::1")), out _));
    }
}
