using System.Collections.Immutable;
using System.Net;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Tests.Support;

/// <summary>
/// A small node for pipeline tests: uplink eth0 (198.18.0.1/24, 2001:db8:0:1::1/64) with gateway .254, one
/// local pod (198.18.100.10, fd00:100::10) on port 1, pod CIDR 198.18.100.0/24 / fd00:100::/64, and 198.19.64.0/24
/// spread (ECMP) over the gateway and neighbour .5.
/// </summary>
public sealed class TestNode : IDisposable
{
    public const ulong Eth0Mac = 0x02_00_00_00_0e_01;
    public const ulong GatewayMac = 0x02_00_00_00_0e_fe;
    public const ulong NeighborMac = 0x02_00_00_00_0e_05;
    public const ulong PodMac = 0x02_00_00_00_0a_0a;
    public const ulong RouterMac = 0x02_00_00_00_00_99;

    public readonly PacketPool Pool = new(1024);
    public readonly Batch Batch = new();
    public readonly WorkerContext Context = new(0, new FlowRing(1024));
    public readonly PacketPipeline Pipeline;
    public readonly DatapathSnapshot Snapshot;

    public TestNode()
    {
        var b = new SnapshotBuilder { RouterMac = RouterMac, VxlanPort = 8472, NodeName = "node-a" };
        var eth0 = b.AddInterface("eth0", Eth0Mac);
        b.AddRoute(IPNetwork.Parse("198.18.0.0/24"), NextHop.Unresolved);
        b.AddRoute(IPNetwork.Parse("2001:db8:0:1::/64"), NextHop.Unresolved);
        b.AddRoute(IPNetwork.Parse("198.18.0.1/32"), NextHop.Host);
        b.AddRoute(IPNetwork.Parse("2001:db8:0:1::1/128"), NextHop.Host);
        var gw = new NextHop(NextHopKind.Port, eth0, GatewayMac, Eth0Mac, 0);
        b.AddRoute(IPNetwork.Parse("198.18.0.254/32"), gw);
        b.AddRoute(IPNetwork.Parse("198.18.0.5/32"), new NextHop(NextHopKind.Port, eth0, NeighborMac, Eth0Mac, 0));
        b.AddRoute(IPNetwork.Parse("0.0.0.0/0"), gw);
        // ECMP (a prefix learned by BGP from two peers): the gateway and the neighbour .5.
        b.AddMultipathRoute(IPNetwork.Parse("198.19.64.0/24"), [gw, new NextHop(NextHopKind.Port, eth0, NeighborMac, Eth0Mac, 0)]);
        b.AddRoute(IPNetwork.Parse("::/0"), new NextHop(NextHopKind.Port, eth0, GatewayMac, Eth0Mac, 0));
        b.AddRoute(IPNetwork.Parse("198.18.100.0/24"), NextHop.NoEndpoint);
        b.AddRoute(IPNetwork.Parse("fd00:100::/64"), NextHop.NoEndpoint);
        b.AddEndpoint("default", "web", ImmutableSortedDictionary<string, string>.Empty.Add("app", "web"), "lxc0000000001",
            PodMac, [IPAddress.Parse("198.18.100.10"), IPAddress.Parse("fd00:100::10")]);
        Snapshot = b.Build();
        Pipeline = new PacketPipeline(new SnapshotHolder(Snapshot));
    }

    public const ushort Uplink = 0, PodPort = 1;

    /// <summary>Runs one packet through the pipeline; returns its metadata and the bytes as they would leave.</summary>
    public (PacketMeta Meta, byte[] Out) Run(byte[] frame, ushort inPort)
    {
        var r = RunMany([(frame, inPort)]);
        return r[0];
    }

    public unsafe List<(PacketMeta Meta, byte[] Out)> RunMany(IReadOnlyList<(byte[] Frame, ushort InPort)> frames)
    {
        Batch.Count = 0;
        foreach (var (f, port) in frames)
        {
            Assert.True(Pool.TryLoad(ref Batch[Batch.Count], f, port));
            Batch.Count++;
        }
        Pipeline.Process(Batch, Context);
        var result = new List<(PacketMeta, byte[])>();
        for (int i = 0; i < Batch.Count; i++)
        {
            result.Add((Batch[i], Batch[i].Bytes.ToArray()));
            Pool.Free(Batch[i]);
        }
        return result;
    }

    public void Dispose() { Pool.Dispose(); Batch.Dispose(); }
}
