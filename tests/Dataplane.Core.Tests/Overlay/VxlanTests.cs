using System.Buffers.Binary;
using System.Net;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Control.Config;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Overlay;

/// <summary>VXLAN encapsulation toward node-b and decapsulation from it, with Cilium's identity-in-VNI.</summary>
public class VxlanTests : IDisposable
{
    private readonly OverlayNode _node = new();
    public void Dispose() => _node.Dispose();

    private static byte[] FromWeb4(string dst, byte[] l4, byte proto = 17, ushort frag = 0x4000) =>
        Eth4(Ipv4("198.18.100.10", dst, proto, l4, fragField: frag), dst: OverlayNode.RouterMac, src: OverlayNode.WebMac);

    [Fact]
    public void PodToRemotePodIsEncapsulatedInVxlanOverIpv4WithTheSourceIdentityAsVni()
    {
        var (m, o) = _node.Run(FromWeb4("198.18.101.20", Udp(4000, 53, new byte[20])), OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.Uplink, m.OutPort);
        Assert.Equal(OverlayNode.NodeBMac, ReadMac(o));
        Assert.Equal(OverlayNode.Eth0Mac, ReadMac(o.AsSpan(6)));
        Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(o.AsSpan(12)));
        var ip = o.AsSpan(14);
        Assert.Equal(0x45, ip[0]);
        Assert.Equal(o.Length - 14, BinaryPrimitives.ReadUInt16BigEndian(ip[2..]));
        Assert.Equal(17, ip[9]);
        Assert.Equal(0, Checksum(ip[..20]));
        Assert.Equal(IPAddress.Parse("198.18.0.1"), new IPAddress(ip.Slice(12, 4)));
        Assert.Equal(IPAddress.Parse("198.18.0.2"), new IPAddress(ip.Slice(16, 4)));
        var udp = ip[20..];
        Assert.InRange(BinaryPrimitives.ReadUInt16BigEndian(udp), 49152, 65535);
        Assert.Equal(8472, BinaryPrimitives.ReadUInt16BigEndian(udp[2..]));
        Assert.Equal(o.Length - 34, BinaryPrimitives.ReadUInt16BigEndian(udp[4..]));
        Assert.Equal(0x08, udp[8]);
        uint vni = (uint)(udp[12] << 16 | udp[13] << 8 | udp[14]);
        Assert.Equal(_node.IdentityOf("web"), vni);
        var inner = udp[16..];
        Assert.Equal(MacAddress.Derive("router/node-b").Value, ReadMac(inner));   // node-b's router MAC
        Assert.Equal(OverlayNode.RouterMac, ReadMac(inner[6..]));
        Assert.Equal(63, inner[14 + 8]);                                         // inner TTL decremented
        Assert.Equal(0, Checksum(inner.Slice(14, 20)));
        Assert.Equal(14 + 20 + 8 + 8 + 14 + 20 + 8 + 20, o.Length);              // 50 bytes of overhead
        Assert.Equal(14 + 20 + 8 + 8 + 14, m.L3Offset);                           // metadata still describes the inner packet
    }

    [Theory]
    [InlineData("", 14 + 20 + 8 + 20)]                       // no annotation, no default: native routing
    [InlineData("    mode: vxlan", 50 + 14 + 20 + 8 + 20)]   // the overlay's default mode applies
    public void TunnelModeDefaultsToTheOverlayMode(string overlay, int length)
    {
        using var node = new OverlayNode(OverlayNode.Yaml(overlay: overlay, nodeBAnnotations: "note: none"));
        var (m, o) = node.Run(FromWeb4("198.18.101.20", Udp(4000, 53, new byte[20])), OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.NodeBMac, ReadMac(o));
        Assert.Equal(length, o.Length);
    }

    [Fact]
    public void PeerOverrideBeatsTheNodeAnnotation()
    {
        using var node = new OverlayNode(OverlayNode.Yaml(overlay: "    peers:\n    - {node: node-b, mode: native}"));
        var (_, o) = node.Run(FromWeb4("198.18.101.20", Udp(4000, 53)), OverlayNode.WebPort);
        Assert.Equal(14 + 20 + 8, o.Length);
    }

    [Fact]
    public void SourcePortFollowsTheInnerFlow()
    {
        var a = _node.Run(FromWeb4("198.18.101.20", Udp(4000, 53)), OverlayNode.WebPort).Out;
        var b = _node.Run(FromWeb4("198.18.101.20", Udp(4000, 53)), OverlayNode.WebPort).Out;
        var ports = Enumerable.Range(0, 32).Select(i => BinaryPrimitives.ReadUInt16BigEndian(
            _node.Run(FromWeb4("198.18.101.20", Udp((ushort)(5000 + i), 53)), OverlayNode.WebPort).Out.AsSpan(34))).Distinct().Count();
        Assert.Equal(a[34..36], b[34..36]);
        Assert.True(ports > 16, $"only {ports} distinct source ports for 32 flows");
    }

    [Fact]
    public void Ipv6UnderlayCarriesAValidUdpChecksumAnd70BytesOfOverhead()
    {
        using var node = new OverlayNode(OverlayNode.Yaml(overlay: "    underlay: ipv6\n    vxlanPort: 4789"));
        var (m, o) = node.Run(Eth6(Ipv6("fd00:100::10", "fd00:101::20", 6, Tcp(40000, 80, payload: 33)),
            dst: OverlayNode.RouterMac, src: OverlayNode.WebMac), OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(0x86DD, BinaryPrimitives.ReadUInt16BigEndian(o.AsSpan(12)));
        var ip = o.AsSpan(14);
        Assert.Equal(IPAddress.Parse("2001:db8:0:1::1"), new IPAddress(ip.Slice(8, 16)));
        Assert.Equal(IPAddress.Parse("2001:db8:0:1::2"), new IPAddress(ip.Slice(24, 16)));
        Assert.Equal(17, ip[6]);
        int udpLen = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        Assert.Equal(o.Length - 54, udpLen);
        Assert.Equal(4789, BinaryPrimitives.ReadUInt16BigEndian(ip[42..]));
        uint pseudo = 0;
        for (int i = 8; i < 40; i += 2) pseudo += (uint)(ip[i] << 8 | ip[i + 1]);
        pseudo += 17 + (uint)udpLen;
        Assert.Equal(0, Checksum(ip.Slice(40, udpLen), pseudo));
        Assert.Equal(14 + 40 + 8 + 8 + 14 + 40 + 20 + 33, o.Length);
    }

    private byte[] VxlanFrom(string src, uint vni, byte[] inner, string dst = "198.18.0.1") =>
        Eth4(Ipv4(src, dst, 17, Udp(51000, 8472, Vxlan(vni, inner))), dst: OverlayNode.Eth0Mac, src: OverlayNode.NodeBMac);

    private static byte[] InnerToWeb(string src = "198.18.101.20") =>
        Eth4(Ipv4(src, "198.18.100.10", 6, Tcp(40000, 80)), dst: OverlayNode.RouterMac, src: 0x02_00_00_00_0b_01);

    [Fact]
    public void VxlanFromAPeerIsDecapsulatedAndDeliveredWithTheVniAsSourceIdentity()
    {
        uint db = _node.IdentityOf("db");
        var (m, o) = _node.Run(VxlanFrom("198.18.0.2", db, InnerToWeb()), OverlayNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.WebPort, m.OutPort);
        Assert.Equal(db, m.SrcIdentity);
        Assert.True((m.Flags & PacketFlags.TunnelIdentity) != 0 && (m.Flags & PacketFlags.Decapsulated) != 0);
        Assert.Equal(OverlayNode.WebMac, ReadMac(o));
        Assert.Equal(14 + 20 + 20, o.Length);
        Assert.Equal(IPAddress.Parse("198.18.101.20"), new IPAddress(o.AsSpan(14 + 12, 4)));
        Assert.Equal(63, o[14 + 8]);
    }

    [Fact]
    public void IdentityComesFromTheVniNotTheIpcache()
    {
        // Inner source is db's address, but the VNI says "world": the VNI wins, as in Cilium.
        var (m, _) = _node.Run(VxlanFrom("198.18.0.2", 2, InnerToWeb()), OverlayNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(2u, m.SrcIdentity);
    }

    [Fact]
    public void EveryInternalIpOfANodeIsAKnownSender()
    {
        // node-b is tunnelled over IPv4, but VXLAN from its IPv6 InternalIP is accepted too.
        var frame = Eth6(Ipv6("2001:db8:0:1::2", "2001:db8:0:1::1", 17, Udp(51000, 8472, Vxlan(2, InnerToWeb()))), dst: OverlayNode.Eth0Mac);
        var (m, _) = _node.Run(frame, OverlayNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.WebPort, m.OutPort);
    }

    [Fact]
    public void UnknownSenderIsDropped172()
    {
        var (m, _) = _node.Run(VxlanFrom("198.18.0.77", 2, InnerToWeb()), OverlayNode.Uplink);
        Assert.Equal(DropReason.UnknownSender, m.DropReason);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(99_999u)]
    [InlineData(0xFFFFFFu)]
    public void VniThatIsNoIdentityIsDropped183(uint vni)
    {
        var (m, _) = _node.Run(VxlanFrom("198.18.0.2", vni, InnerToWeb()), OverlayNode.Uplink);
        Assert.Equal(DropReason.InvalidVni, m.DropReason);
    }

    [Fact]
    public void MissingIFlagIsDropped183()
    {
        var frame = Eth4(Ipv4("198.18.0.2", "198.18.0.1", 17, Udp(51000, 8472, Vxlan(2, InnerToWeb(), flags: 0))), dst: OverlayNode.Eth0Mac);
        Assert.Equal(DropReason.InvalidVni, _node.Run(frame, OverlayNode.Uplink).Meta.DropReason);
    }

    [Fact]
    public void TruncatedInnerFrameIsACountedDrop()
    {
        var inner = InnerToWeb()[..30];   // Ethernet + 16 bytes of an IPv4 header
        var (m, _) = _node.Run(VxlanFrom("198.18.0.2", 2, inner), OverlayNode.Uplink);
        Assert.Equal(PacketVerdict.Drop, m.Verdict);
        Assert.Equal(DropReason.InvalidPacketDropped, m.DropReason);
    }

    [Fact]
    public void VxlanNotAddressedToUsIsRoutedNotDecapsulated()
    {
        var (m, o) = _node.Run(VxlanFrom("198.18.0.2", 2, InnerToWeb(), dst: "198.18.0.3"), OverlayNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.NodeCMac, ReadMac(o));
        Assert.Equal(0, (int)(m.Flags & PacketFlags.Decapsulated));
    }

    [Fact]
    public void FixedVniPeerSendsAndAcceptsOnlyItsVniWithIdentityFromTheIpcache()
    {
        using var node = new OverlayNode(OverlayNode.Yaml(overlay: """
                peers:
                - {endpoint: 198.18.0.5, mode: vxlan, vni: 100, innerMac: "02:00:00:00:77:01", prefixes: ["198.18.60.0/24"]}
            """).Replace("  - {ip: 198.18.0.3,", "  - {ip: 198.18.0.5, mac: \"02:00:00:00:0e:05\"}\n  - {ip: 198.18.0.3,"));
        var (m, o) = node.Run(FromWeb4("198.18.60.9", Udp(1, 2)), OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(100, o[14 + 20 + 8 + 6]);
        Assert.Equal(0x02_00_00_00_77_01UL, ReadMac(o.AsSpan(50)));
        var inner = Eth4(Ipv4("198.18.60.9", "198.18.100.10", 17, Udp(2, 1)), dst: OverlayNode.RouterMac);
        var ok = node.Run(Eth4(Ipv4("198.18.0.5", "198.18.0.1", 17, Udp(1, 8472, Vxlan(100, inner))), dst: OverlayNode.Eth0Mac), 0).Meta;
        Assert.Equal(PacketVerdict.Tx, ok.Verdict);
        Assert.Equal(0, (int)(ok.Flags & PacketFlags.TunnelIdentity));
        var bad = node.Run(Eth4(Ipv4("198.18.0.5", "198.18.0.1", 17, Udp(1, 8472, Vxlan(101, inner))), dst: OverlayNode.Eth0Mac), 0).Meta;
        Assert.Equal(DropReason.InvalidVni, bad.DropReason);
    }

    [Fact]
    public void OversizedIpv4WithDfGetsFragmentationNeededBackToThePod()
    {
        var big = FromWeb4("198.18.101.20", Udp(4000, 53, new byte[1480 - 28]));   // a 1480-byte IPv4 packet
        var (m, o) = _node.Run(big, OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.WebPort, m.OutPort);
        Assert.Equal(OverlayNode.WebMac, ReadMac(o));
        Assert.Equal(OverlayNode.RouterMac, ReadMac(o.AsSpan(6)));
        var ip = o.AsSpan(14);
        Assert.Equal(1, ip[9]);
        Assert.Equal(0, Checksum(ip[..20]));
        Assert.Equal(IPAddress.Parse("198.18.0.1"), new IPAddress(ip.Slice(12, 4)));
        Assert.Equal(IPAddress.Parse("198.18.100.10"), new IPAddress(ip.Slice(16, 4)));
        Assert.Equal(576, BinaryPrimitives.ReadUInt16BigEndian(ip[2..]));
        var icmp = ip[20..576];
        Assert.Equal(3, icmp[0]);
        Assert.Equal(4, icmp[1]);
        Assert.Equal(1450, BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]));
        Assert.Equal(0, Checksum(icmp));
        Assert.Equal(IPAddress.Parse("198.18.101.20"), new IPAddress(icmp.Slice(8 + 16, 4)));   // quotes the original
        // 1450 bytes fit exactly.
        var fits = _node.Run(FromWeb4("198.18.101.20", Udp(4000, 53, new byte[1450 - 28])), OverlayNode.WebPort);
        Assert.Equal(OverlayNode.Uplink, fits.Meta.OutPort);
        Assert.Equal(1500 + 14, fits.Out.Length);
    }

    [Fact]
    public void OversizedIpv4WithoutDfIsACountedDrop157()
    {
        var (m, _) = _node.Run(FromWeb4("198.18.101.20", Udp(4000, 53, new byte[1480 - 28]), frag: 0), OverlayNode.WebPort);
        Assert.Equal(DropReason.IpFragmentationNotSupported, m.DropReason);
    }

    [Fact]
    public void OversizedIcmpErrorGetsNoIcmpErrorBack()
    {
        var (m, _) = _node.Run(FromWeb4("198.18.101.20", Icmp(3, 3, payload: 1480 - 28), proto: 1), OverlayNode.WebPort);
        Assert.Equal(DropReason.IpFragmentationNotSupported, m.DropReason);
    }

    [Fact]
    public void OversizedIpv6GetsPacketTooBig()
    {
        var frame = Eth6(Ipv6("fd00:100::10", "fd00:101::20", 17, Udp(1, 2, new byte[1460 - 48])), dst: OverlayNode.RouterMac, src: OverlayNode.WebMac);
        var (m, o) = _node.Run(frame, OverlayNode.WebPort);
        Assert.Equal(OverlayNode.WebPort, m.OutPort);
        var ip = o.AsSpan(14);
        Assert.Equal(58, ip[6]);
        Assert.Equal(1280, 40 + BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
        Assert.Equal(IPAddress.Parse("fd00:100::10"), new IPAddress(ip.Slice(24, 16)));
        var icmp = ip.Slice(40, 1240);
        Assert.Equal(2, icmp[0]);
        Assert.Equal(1450u, BinaryPrimitives.ReadUInt32BigEndian(icmp[4..]));
        uint pseudo = 0;
        for (int i = 8; i < 40; i += 2) pseudo += (uint)(ip[i] << 8 | ip[i + 1]);
        pseudo += 58 + 1240u;
        Assert.Equal(0, Checksum(icmp, pseudo));
    }

    [Fact]
    public void TunnelNextHopToAnUnknownEndpointIsDropped160()
    {
        // A Tunnel route whose endpoint no peer has (as another stage might produce): counted, not crashed.
        var b = new Dataplane.Core.Snapshot.SnapshotBuilder { VxlanPort = 8472 };
        var eth0 = b.AddInterface("eth0", OverlayNode.Eth0Mac);
        b.AddRoute(IPNetwork.Parse("0.0.0.0/0"), new Dataplane.Core.Routing.NextHop(Dataplane.Core.Routing.NextHopKind.Tunnel, eth0, 0, 0, 0, 0xC6120063, false));
        var snap = b.Build();
        using var pool = new PacketPool(4);
        using var batch = new Batch();
        Assert.True(pool.TryLoad(ref batch[0], Eth4(Ipv4("198.19.0.1", "198.19.9.9", 17, Udp(1, 2)), dst: OverlayNode.Eth0Mac), 0));
        batch.Count = 1;
        new Dataplane.Core.Pipeline.PacketPipeline(new Dataplane.Core.Snapshot.SnapshotHolder(snap)).Process(batch, new Dataplane.Core.Pipeline.WorkerContext(0));
        Assert.Equal(DropReason.NoTunnelOrEncapsulationEndpoint, batch[0].DropReason);
        pool.Free(batch[0]);
    }
}
