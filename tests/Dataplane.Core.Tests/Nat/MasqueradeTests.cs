using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Tests.Services;

namespace Dataplane.Core.Tests.Nat;

/// <summary>
/// SNAT masquerade of pod traffic leaving node-a through eth0 (198.18.0.1): translated source and port,
/// reverse translation of replies, exemptions (pod CIDRs of every node, nonMasqueradeCIDRs), ICMP echo ids,
/// port collisions and exhaustion (167), untranslatable protocols (168).
/// </summary>
public sealed class MasqueradeTests
{
    private const string Masq = "  masquerade: {nonMasqueradeCIDRs: [198.18.200.0/24]}\n";
    private const string World = "198.18.9.9";

    [Fact]
    public void PodTrafficToTheWorldLeavesFromTheNodeAddressAndRepliesFindThePod()
    {
        using var c = new ServiceCluster("", dataplaneSpecExtra: Masq);
        var (m, o) = c.Send("prod/client", World, 443, sport: 45000);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal("198.18.0.1", o!.Src);
        Assert.InRange(o.SrcPort, 32768, 65535);
        Assert.Equal((World, (ushort)443), (o.Dst, o.DstPort));
        Assert.True(o.ChecksumsOk);
        Assert.Equal(ServiceCluster.GatewayMac, o.DstMac);

        var (rm, r) = c.Send(World, "198.18.0.1", o.SrcPort, sport: 443, tcpFlags: 0x12);
        Assert.Equal(PacketVerdict.Tx, rm.Verdict);
        Assert.Equal(CtState.Reply, rm.CtState);
        Assert.Equal(("10.0.1.30", (ushort)45000, World), (r!.Dst, r.DstPort, r.Src));
        Assert.True(r.ChecksumsOk);
        Assert.Equal("prod/client", c.PodOnPort(rm.OutPort));

        // Later packets of the connection keep the translation.
        var (_, again) = c.Send("prod/client", World, 443, sport: 45000, tcpFlags: 0x10);
        Assert.Equal(("198.18.0.1", o.SrcPort), (again!.Src, again.SrcPort));
    }

    [Fact]
    public void Ipv6PodTrafficIsMasqueradedToo()
    {
        using var c = new ServiceCluster("", dataplaneSpecExtra: Masq);
        var (_, o) = c.Send("prod/client", "2001:db8:9::9", 443, sport: 45001, v6: true);
        Assert.Equal("2001:db8:0:1::1", o!.Src);
        Assert.True(o.ChecksumsOk);
        var (_, r) = c.Send("2001:db8:9::9", "2001:db8:0:1::1", o.SrcPort, sport: 443, tcpFlags: 0x12, v6: true);
        Assert.Equal(("fd00:1::30", (ushort)45001), (r!.Dst, r.DstPort));
        Assert.True(r.ChecksumsOk);
    }

    [Fact]
    public void ClusterAndNonMasqueradeDestinationsKeepThePodAddress()
    {
        using var c = new ServiceCluster("", dataplaneSpecExtra: Masq);
        Assert.Equal("10.0.1.30", c.Send("prod/client", "10.0.2.10", 80).Out!.Src);       // pod on node-b
        Assert.Equal("10.0.1.30", c.Send("prod/client", "10.0.3.5", 80).Out!.Src);        // node-c's pod CIDR
        Assert.Equal("10.0.1.30", c.Send("prod/client", "198.18.200.7", 80).Out!.Src);    // nonMasqueradeCIDRs
        Assert.Equal("10.0.1.30", c.Send("prod/client", "10.0.1.10", 80).Out!.Src);       // local pod
    }

    [Fact]
    public void MasqueradingIsOffUnlessConfigured()
    {
        using var c = new ServiceCluster("");
        Assert.Equal("10.0.1.30", c.Send("prod/client", World, 443).Out!.Src);
    }

    [Fact]
    public void UdpAndIcmpEchoAreTranslated()
    {
        using var c = new ServiceCluster("", dataplaneSpecExtra: Masq);
        var (_, u) = c.Send("prod/client", World, 53, sport: 5353, udp: true);
        Assert.Equal("198.18.0.1", u!.Src);
        Assert.True(u.ChecksumsOk);
        var (_, ur) = c.Send(World, "198.18.0.1", u.SrcPort, sport: 53, udp: true);
        Assert.Equal(("10.0.1.30", (ushort)5353), (ur!.Dst, ur.DstPort));

        var (em, e) = c.SendIcmpEcho("prod/client", World, id: 0x4242);
        Assert.Equal(PacketVerdict.Tx, em.Verdict);
        Assert.Equal("198.18.0.1", e!.Src);
        Assert.True(e.ChecksumsOk);
        var (rm, r) = c.SendIcmpEcho(World, "198.18.0.1", id: e.SrcPort, reply: true, srcIp: World);
        Assert.Equal(CtState.Reply, rm.CtState);
        Assert.Equal(("10.0.1.30", (ushort)0x4242), (r!.Dst, r.SrcPort));
        Assert.True(r.ChecksumsOk);
    }

    [Fact]
    public void SameSourcePortFromTwoPodsGetsTwoNatPorts()
    {
        using var c = new ServiceCluster("", dataplaneSpecExtra: "  masquerade: {portRange: {min: 40000, max: 40100}}\n");
        var a = c.Send("prod/client", World, 443, sport: 40050).Out!;
        var b = c.Send("prod/web-1", World, 443, sport: 40050).Out!;
        Assert.Equal(40050, a.SrcPort);       // the original port is kept when free and in range
        Assert.NotEqual(a.SrcPort, b.SrcPort);
        Assert.InRange(b.SrcPort, 40000, 40100);
        // Each reply reaches its own pod.
        Assert.Equal("10.0.1.30", c.Send(World, "198.18.0.1", a.SrcPort, 443, 0x12).Out!.Dst);
        Assert.Equal("10.0.1.10", c.Send(World, "198.18.0.1", b.SrcPort, 443, 0x12).Out!.Dst);
    }

    [Fact]
    public void ExhaustedPortRangeDrops167AndCountsIt()
    {
        using var c = new ServiceCluster("", dataplaneSpecExtra: "  masquerade: {portRange: {min: 40000, max: 40001}}\n");
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/client", World, 443, sport: 1).Meta.Verdict);
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/client", World, 443, sport: 2).Meta.Verdict);
        var (m, _) = c.Send("prod/client", World, 443, sport: 3);
        Assert.Equal(DropReason.NoMappingForNatMasquerade, m.DropReason);
        Assert.Equal(1ul, c.Drops(DropReason.NoMappingForNatMasquerade));
        // Ports are per destination tuple: another destination still gets one.
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/client", World, 444, sport: 3).Meta.Verdict);
        Assert.Equal(3, c.Context.Conntrack!.Count);
    }

    [Fact]
    public void UntranslatableProtocolDrops168()
    {
        using var c = new ServiceCluster("", dataplaneSpecExtra: Masq);
        var (m, _) = c.SendSctp("prod/client", World, 9);
        Assert.Equal(DropReason.UnsupportedProtocolForNatMasquerade, m.DropReason);
    }
}
