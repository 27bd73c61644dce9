using System.Buffers.Binary;
using System.Net;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Pipeline;

public class PipelineTests : IDisposable
{
    private readonly TestNode _node = new();
    public void Dispose() => _node.Dispose();

    [Fact]
    public void PodToWorldGoesToGatewayWithRewriteAndTtl()
    {
        var (m, o) = _node.Run(Eth4(Ipv4("198.18.100.10", "198.19.5.5", 6, Tcp(40000, 443)), dst: TestNode.RouterMac, src: TestNode.PodMac), TestNode.PodPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(TestNode.Uplink, m.OutPort);
        Assert.Equal(TestNode.GatewayMac, ReadMac(o));
        Assert.Equal(TestNode.Eth0Mac, ReadMac(o.AsSpan(6)));
        Assert.Equal(63, o[14 + 8]);
        Assert.Equal(0, Checksum(o.AsSpan(14, 20)));   // still a valid header after the TTL patch
        Assert.Equal(TrafficDirection.Egress, m.Direction);
        Assert.Equal(1u, m.SrcEndpoint);
    }

    [Fact]
    public void WorldToPodIsDeliveredOnThePodPort()
    {
        var (m, o) = _node.Run(Eth6(Ipv6("2001:db8:9::1", "fd00:100::10", 17, Udp(53, 4000)), dst: TestNode.Eth0Mac), TestNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(TestNode.PodPort, m.OutPort);
        Assert.Equal(TestNode.PodMac, ReadMac(o));
        Assert.Equal(TestNode.RouterMac, ReadMac(o.AsSpan(6)));
        Assert.Equal(63, o[14 + 7]);
        Assert.Equal(TrafficDirection.Ingress, m.Direction);
        Assert.Equal(1u, m.DstEndpoint);
    }

    [Fact]
    public void VlanTagIsRemovedOnForward()
    {
        var (m, o) = _node.Run(Eth4(Ipv4("198.19.1.1", "198.18.100.10", 1, Icmp(8, 0)), vlans: [42], dst: TestNode.Eth0Mac), TestNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(o.AsSpan(12)));
        Assert.Equal(14 + 20 + 16, o.Length);
        Assert.Equal(0, Checksum(o.AsSpan(14, 20)));
        Assert.Equal(14, m.L3Offset);
    }

    [Theory]
    [InlineData("198.18.0.1", PacketVerdict.Local, DropReason.None)]          // our own address
    [InlineData("198.18.0.77", PacketVerdict.Drop, DropReason.FibLookupFailed)]   // connected, no neighbour
    [InlineData("198.18.100.99", PacketVerdict.Drop, DropReason.NoMatchingLocalContainerFound)]
    [InlineData("224.0.0.5", PacketVerdict.Local, DropReason.None)]
    public void RouteOutcomes(string dst, PacketVerdict verdict, DropReason reason)
    {
        var (m, _) = _node.Run(Eth4(Ipv4("198.19.1.1", dst, 17, Udp(1, 2)), dst: TestNode.Eth0Mac), TestNode.Uplink);
        Assert.Equal(verdict, m.Verdict);
        Assert.Equal(reason, m.DropReason);
        if (verdict == PacketVerdict.Drop) Assert.Equal((byte)StageId.Route, m.DecidedBy);
    }

    [Fact]
    public void EcmpSpreadsFlowsOverBothNextHopsAndKeepsEachFlowOnOne()
    {
        var macs = new Dictionary<ushort, ulong>();
        for (ushort sport = 40000; sport < 40064; sport++)
        {
            var (m, o) = _node.Run(Eth4(Ipv4("198.18.100.10", "198.19.64.7", 6, Tcp(sport, 443)), dst: TestNode.RouterMac, src: TestNode.PodMac), TestNode.PodPort);
            Assert.Equal(PacketVerdict.Tx, m.Verdict);
            Assert.Equal(TestNode.Uplink, m.OutPort);
            macs[sport] = ReadMac(o);
        }
        Assert.Equal([TestNode.NeighborMac, TestNode.GatewayMac], macs.Values.Distinct().Order());
        for (ushort sport = 40000; sport < 40064; sport += 7)
        {
            var (_, o) = _node.Run(Eth4(Ipv4("198.18.100.10", "198.19.64.7", 6, Tcp(sport, 443)), dst: TestNode.RouterMac, src: TestNode.PodMac), TestNode.PodPort);
            Assert.Equal(macs[sport], ReadMac(o));
        }
    }

    [Fact]
    public void TtlExpiryIsDropped()
    {
        var (m, _) = _node.Run(Eth4(Ipv4("198.19.1.1", "198.18.100.10", 17, Udp(1, 2), ttl: 1), dst: TestNode.Eth0Mac), TestNode.Uplink);
        Assert.Equal(DropReason.TtlExceeded, m.DropReason);
        var (m6, _) = _node.Run(Eth6(Ipv6("2001:db8:9::1", "fd00:100::10", 17, Udp(1, 2), hopLimit: 1), dst: TestNode.Eth0Mac), TestNode.Uplink);
        Assert.Equal(DropReason.TtlExceeded, m6.DropReason);
    }

    [Fact]
    public void SpoofedPodSourceIsDropped()
    {
        var (m, _) = _node.Run(Eth4(Ipv4("198.18.100.11", "198.19.5.5", 17, Udp(1, 2)), dst: TestNode.RouterMac), TestNode.PodPort);
        Assert.Equal(DropReason.InvalidSourceIp, m.DropReason);
        var (m6, _) = _node.Run(Eth6(Ipv6("fd00:100::11", "2001:db8:9::1", 17, Udp(1, 2)), dst: TestNode.RouterMac), TestNode.PodPort);
        Assert.Equal(DropReason.InvalidSourceIp, m6.DropReason);
    }

    [Fact]
    public void ArpForGatewayFromPodIsAnsweredWithRouterMac()
    {
        var (m, o) = _node.Run(Ethernet(0xFFFFFFFFFFFF, TestNode.PodMac, 0x0806, ArpRequest(TestNode.PodMac, "198.18.100.10", "198.18.100.1")), TestNode.PodPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(TestNode.PodPort, m.OutPort);
        Assert.Equal(TestNode.PodMac, ReadMac(o));
        Assert.Equal(TestNode.RouterMac, ReadMac(o.AsSpan(6)));
        Assert.Equal(2, o[14 + 7]);                                   // op = reply
        Assert.Equal(TestNode.RouterMac, ReadMac(o.AsSpan(14 + 8)));  // sender MAC
        Assert.Equal(IPAddress.Parse("198.18.100.1"), new IPAddress(o.AsSpan(14 + 14, 4)));
        Assert.Equal(TestNode.PodMac, ReadMac(o.AsSpan(14 + 18)));
        Assert.Equal(IPAddress.Parse("198.18.100.10"), new IPAddress(o.AsSpan(14 + 24, 4)));
    }

    [Fact]
    public void ArpOnUplinkIsAnsweredOnlyForOurAddresses()
    {
        var (ours, o) = _node.Run(Ethernet(0xFFFFFFFFFFFF, TestNode.GatewayMac, 0x0806, ArpRequest(TestNode.GatewayMac, "198.18.0.254", "198.18.0.1")), TestNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, ours.Verdict);
        Assert.Equal(TestNode.Eth0Mac, ReadMac(o.AsSpan(14 + 8)));
        var (other, _) = _node.Run(Ethernet(0xFFFFFFFFFFFF, TestNode.GatewayMac, 0x0806, ArpRequest(TestNode.GatewayMac, "198.18.0.254", "198.18.0.9")), TestNode.Uplink);
        Assert.Equal(PacketVerdict.Local, other.Verdict);
    }

    [Fact]
    public void NeighborSolicitationFromPodGetsAdvertisement()
    {
        var ns = Eth6(Ipv6("fd00:100::10", "ff02::1:ff00:1", 58, NeighborSolicitation("fd00:100::1", TestNode.PodMac), hopLimit: 255),
            dst: 0x3333ff000001, src: TestNode.PodMac);
        var (m, o) = _node.Run(ns, TestNode.PodPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(TestNode.PodMac, ReadMac(o));
        Assert.Equal(14 + 40 + 32, o.Length);
        Assert.Equal(IPAddress.Parse("fd00:100::1"), new IPAddress(o.AsSpan(14 + 8, 16)));
        Assert.Equal(IPAddress.Parse("fd00:100::10"), new IPAddress(o.AsSpan(14 + 24, 16)));
        Assert.Equal(136, o[54]);
        Assert.Equal(0xE0, o[58]);
        Assert.Equal(TestNode.RouterMac, ReadMac(o.AsSpan(54 + 26)));
        // Verify the ICMPv6 checksum independently (pseudo-header + body sums to 0xFFFF → complement 0).
        uint pseudo = 0;
        for (int i = 22; i < 54; i += 2) pseudo += (uint)(o[i] << 8 | o[i + 1]);
        pseudo += 58 + 32;
        Assert.Equal(0, Checksum(o.AsSpan(54), pseudo));
    }

    [Fact]
    public void CountersAndFlowsAccountForEveryPacket()
    {
        var frames = new List<(byte[], ushort)>
        {
            (Eth4(Ipv4("198.19.1.1", "198.18.100.10", 17, Udp(1, 2)), dst: TestNode.Eth0Mac), TestNode.Uplink),
            (Eth4(Ipv4("198.19.1.1", "198.18.100.99", 17, Udp(1, 2)), dst: TestNode.Eth0Mac), TestNode.Uplink),
            (new byte[10], TestNode.Uplink),
            (Eth4(Ipv4("198.19.1.1", "198.18.0.1", 17, Udp(1, 2)), dst: TestNode.Eth0Mac), TestNode.Uplink),
        };
        _node.RunMany(frames);
        var c = _node.Context.Counters;
        Assert.Equal(4ul, c.RxPackets);
        Assert.Equal(1ul, c.TxPackets);
        Assert.Equal(1ul, c.LocalPackets);
        Assert.Equal(1ul, c.Drops[(int)DropReason.NoMatchingLocalContainerFound]);
        Assert.Equal(1ul, c.Drops[(int)DropReason.InvalidPacketDropped]);
        Assert.Equal(4ul, c.StagePackets[0]);
        // The runt never got past parsing; the address nobody has was dropped by routing.
        Assert.Equal(1ul, c.StageDrops[(int)StageId.Parse]);
        Assert.Equal(1ul, c.StageDrops[(int)StageId.Route]);
        Assert.Equal(2ul, c.StageDrops.Aggregate(0ul, (a, b) => a + b));
        Assert.Equal(4, _node.Context.Flows!.Count);
        Assert.True(_node.Context.Flows.TryRead(out var first));
        Assert.Equal(PacketVerdict.Tx, first.Verdict);
        Assert.Equal(0ul, first.Sequence);
        Assert.Equal(2, first.DstPort);
    }

    [Theory]
    [InlineData(0x02_00_5e_aa_bb_ccUL)]   // another host's MAC (PACKET_OTHERHOST)
    [InlineData(0xFF_FF_FF_FF_FF_FFUL)]   // broadcast carrying a unicast IP destination
    [InlineData(0x01_00_5e_01_02_03UL)]   // a multicast group carrying a unicast IP destination
    public void FramesNotAddressedToUsAreNotRouted(ulong dstMac)
    {
        var (m, _) = _node.Run(Eth4(Ipv4("198.19.1.1", "198.18.100.10", 17, Udp(1, 2)), dst: dstMac), TestNode.Uplink);
        Assert.Equal(PacketVerdict.Drop, m.Verdict);
        Assert.Equal(DropReason.InvalidDestinationMac, m.DropReason);
        // The same frame addressed to the uplink's MAC is delivered to the pod.
        var (ok, _) = _node.Run(Eth4(Ipv4("198.19.1.1", "198.18.100.10", 17, Udp(1, 2)), dst: TestNode.Eth0Mac), TestNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, ok.Verdict);
    }

    [Fact]
    public void SnapshotSwapTakesEffectAtTheNextBatch()
    {
        var frame = Eth4(Ipv4("198.19.1.1", "198.18.100.10", 17, Udp(1, 2)), dst: TestNode.Eth0Mac);
        Assert.Equal(PacketVerdict.Tx, _node.Run(frame, TestNode.Uplink).Meta.Verdict);
        // A new config without the pod: the same packet now finds nobody home in the pod CIDR.
        var b = new Core.Snapshot.SnapshotBuilder { RouterMac = TestNode.RouterMac, Generation = 2 };
        b.AddInterface("eth0", TestNode.Eth0Mac);
        b.AddInterface("lxc0000000001", TestNode.RouterMac);
        b.AddRoute(System.Net.IPNetwork.Parse("198.18.100.0/24"), Core.Routing.NextHop.NoEndpoint);
        var old = _node.Pipeline.Snapshots.Swap(b.Build());
        Assert.Same(_node.Snapshot, old);
        var (m, _) = _node.Run(frame, TestNode.Uplink);
        Assert.Equal(DropReason.NoMatchingLocalContainerFound, m.DropReason);
        Assert.Equal(2, _node.Pipeline.Snapshots.Current.Generation);
    }
}
