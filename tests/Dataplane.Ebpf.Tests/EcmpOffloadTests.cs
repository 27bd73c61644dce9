using System.Net;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Tests;

/// <summary>route.h picks one next hop per route: a snapshot with an ECMP group is refused by name, never run half.</summary>
public class EcmpOffloadTests
{
    [Fact]
    public void EcmpGroupsAreNamedAsNotOffloaded()
    {
        var b = new SnapshotBuilder();
        var port = b.AddInterface("eth0", 0x02_00_00_00_00_01);
        var a = new NextHop(NextHopKind.Port, port, 0x02_00_00_00_00_0a, 0x02_00_00_00_00_01, 0);
        var c = new NextHop(NextHopKind.Port, port, 0x02_00_00_00_00_0c, 0x02_00_00_00_00_01, 0);
        b.AddRoute(IPNetwork.Parse("198.18.0.0/24"), a);
        Assert.Empty(OffloadSupport.Unsupported(b.Build()));
        b.AddMultipathRoute(IPNetwork.Parse("198.18.64.0/24"), [a, c]);
        Assert.Contains(OffloadSupport.Unsupported(b.Build()), f => f.Contains("ECMP"));
        Assert.Throws<EbpfUnsupportedException>(() => OffloadSupport.Require(b.Build()));
    }
}
