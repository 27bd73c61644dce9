using System.Buffers.Binary;
using System.Net;
using Dataplane.Core.Drops;
using Dataplane.Core.Overlay;
using Dataplane.Core.Packets;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Overlay;

/// <summary>H.Encaps / H.Encaps.Red toward node-c and the local SID behaviours End, End.X, End.DT4/DT6/DT46.</summary>
public class Srv6Tests : IDisposable
{
    private readonly OverlayNode _node = new();
    public void Dispose() => _node.Dispose();

    private static byte[] FromWeb4(string dst) =>
        Eth4(Ipv4("198.18.100.10", dst, 6, Tcp(40000, 80, payload: 10)), dst: OverlayNode.RouterMac, src: OverlayNode.WebMac);

    [Fact]
    public void PodToSrv6NodeIsEncapsulatedWithAnSrhTowardItsDt4Sid()
    {
        var (m, o) = _node.Run(FromWeb4("198.18.102.7"), OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.NodeCMac, ReadMac(o));
        Assert.Equal(0x86DD, BinaryPrimitives.ReadUInt16BigEndian(o.AsSpan(12)));
        var ip = o.AsSpan(14);
        Assert.Equal(43, ip[6]);
        Assert.Equal(IPAddress.Parse("2001:db8:0:1::1"), new IPAddress(ip.Slice(8, 16)));
        Assert.Equal(IPAddress.Parse("2001:db8:c::4"), new IPAddress(ip.Slice(24, 16)));
        Assert.Equal(o.Length - 54, BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
        var srh = ip[40..];
        Assert.Equal(4, srh[0]);      // next header: IPv4
        Assert.Equal(2, srh[1]);      // one segment
        Assert.Equal(4, srh[2]);      // routing type SRH
        Assert.Equal(0, srh[3]);      // segments left
        Assert.Equal(0, srh[4]);      // last entry
        Assert.Equal(IPAddress.Parse("2001:db8:c::4"), new IPAddress(srh.Slice(8, 16)));
        var inner = srh[24..];
        Assert.Equal(0x45, inner[0]);
        Assert.Equal(63, inner[8]);
        Assert.Equal(0, Checksum(inner[..20]));
        Assert.Equal(14 + 40 + 24 + 20 + 30, o.Length);
    }

    [Fact]
    public void Ipv6InnerGoesToTheDt6Sid()
    {
        var (m, o) = _node.Run(Eth6(Ipv6("fd00:100::10", "fd00:102::7", 17, Udp(1, 2)), dst: OverlayNode.RouterMac, src: OverlayNode.WebMac), OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(IPAddress.Parse("2001:db8:c::6"), new IPAddress(o.AsSpan(14 + 24, 16)));
        Assert.Equal(41, o[14 + 40]);
    }

    [Fact]
    public void TransitSegmentsAndReducedEncapsulation()
    {
        using var node = new OverlayNode(OverlayNode.Yaml(overlay: """
                peers:
                - {node: node-c, segments: ["2001:db8:b::1", "2001:db8:b::2"], reduced: true}
            """));
        var (m, o) = node.Run(FromWeb4("198.18.102.7"), OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.NodeBMac, ReadMac(o));                // toward the first segment's neighbour
        var ip = o.AsSpan(14);
        Assert.Equal(IPAddress.Parse("2001:db8:b::1"), new IPAddress(ip.Slice(24, 16)));
        var srh = ip[40..];
        Assert.Equal(4, srh[1]);      // two entries: the first segment is left out (H.Encaps.Red)
        Assert.Equal(2, srh[3]);      // segments left = n - 1
        Assert.Equal(1, srh[4]);      // last entry = n - 2
        Assert.Equal(IPAddress.Parse("2001:db8:c::4"), new IPAddress(srh.Slice(8, 16)));
        Assert.Equal(IPAddress.Parse("2001:db8:b::2"), new IPAddress(srh.Slice(24, 16)));
    }

    [Fact]
    public void ReducedWithOneSegmentHasNoSrh()
    {
        var t = TunnelPeerFactory.Srv6Template(IPAddress.Parse("2001:db8::1"), [IPAddress.Parse("2001:db8:c::4")], reduced: true, 4);
        Assert.Equal(40, t.Length);
        Assert.Equal(4, t[6]);
        var full = TunnelPeerFactory.Srv6Template(IPAddress.Parse("2001:db8::1"),
            [IPAddress.Parse("2001:db8:1::1"), IPAddress.Parse("2001:db8:2::1"), IPAddress.Parse("2001:db8:3::1")], reduced: false, 41);
        Assert.Equal(40 + 8 + 48, full.Length);
        Assert.Equal((6, 2, 2), (full[41], full[43], full[44]));
        Assert.Equal(IPAddress.Parse("2001:db8:3::1"), new IPAddress(full.AsSpan(48, 16)));
        Assert.Equal(IPAddress.Parse("2001:db8:1::1"), new IPAddress(full.AsSpan(80, 16)));
    }

    private static byte[] ToSid(string sid, byte proto, byte[] payload, params (byte, byte[])[] ext) =>
        Eth6(Ipv6("2001:db8:0:1::3", sid, proto, payload, 64, ext), dst: OverlayNode.Eth0Mac, src: OverlayNode.NodeCMac);

    private static byte[] Inner4ToWeb() => Ipv4("198.18.102.7", "198.18.100.10", 17, Udp(7, 8, new byte[4]));
    private static byte[] Inner6ToWeb() => Ipv6("fd00:102::7", "fd00:100::10", 17, Udp(7, 8, new byte[4]));

    [Theory]
    [InlineData("2001:db8:a::4", false)]
    [InlineData("2001:db8:a::46", false)]
    [InlineData("2001:db8:a::4", true)]
    public void EndDt4DecapsulatesAndDelivers(string sid, bool withSrh)
    {
        var frame = withSrh ? ToSid(sid, 4, Inner4ToWeb(), Srh(0, sid)) : ToSid(sid, 4, Inner4ToWeb());
        var (m, o) = _node.Run(frame, OverlayNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.WebPort, m.OutPort);
        Assert.Equal(OverlayNode.WebMac, ReadMac(o));
        Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(o.AsSpan(12)));
        Assert.Equal(14 + 20 + 12, o.Length);
        Assert.Equal(63, o[14 + 8]);
        Assert.Equal(0, Checksum(o.AsSpan(14, 20)));
    }

    [Theory]
    [InlineData("2001:db8:a::6")]
    [InlineData("2001:db8:a::46")]
    public void EndDt6DecapsulatesAndDelivers(string sid)
    {
        var (m, o) = _node.Run(ToSid(sid, 41, Inner6ToWeb(), Srh(0, sid)), OverlayNode.Uplink);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.WebPort, m.OutPort);
        Assert.Equal(14 + 40 + 12, o.Length);
        Assert.Equal(63, o[14 + 7]);
    }

    [Fact]
    public void WrongInnerFamilyForTheSidIsDropped139()
    {
        Assert.Equal(DropReason.UnsupportedL3Protocol, _node.Run(ToSid("2001:db8:a::4", 41, Inner6ToWeb()), 0).Meta.DropReason);
        Assert.Equal(DropReason.UnsupportedL3Protocol, _node.Run(ToSid("2001:db8:a::6", 4, Inner4ToWeb()), 0).Meta.DropReason);
        Assert.Equal(DropReason.UnsupportedL3Protocol, _node.Run(ToSid("2001:db8:a::46", 17, Udp(1, 2)), 0).Meta.DropReason);
    }

    [Fact]
    public void DtSidWithSegmentsLeftIsDropped156()
    {
        var (m, _) = _node.Run(ToSid("2001:db8:a::4", 4, Inner4ToWeb(), Srh(1, "2001:db8:c::9", "2001:db8:a::4")), 0);
        Assert.Equal(DropReason.InvalidIpv6ExtensionHeader, m.DropReason);
    }

    [Fact]
    public void MalformedSrhIsDropped156()
    {
        var srh = Srh(0, "2001:db8:a::4");
        srh.Item2[3] = 3;   // last entry 3 with one segment of room
        Assert.Equal(DropReason.InvalidIpv6ExtensionHeader, _node.Run(ToSid("2001:db8:a::4", 4, Inner4ToWeb(), srh), 0).Meta.DropReason);
    }

    [Fact]
    public void EndTakesTheNextSegmentAndRoutesOnIt()
    {
        // Path: a::1 (us, End) then b::9 (behind node-b). SRH lists them reversed; SL = 1 on arrival.
        var (m, o) = _node.Run(ToSid("2001:db8:a::1", 4, Inner4ToWeb(), Srh(1, "2001:db8:b::9", "2001:db8:a::1")), 0);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.NodeBMac, ReadMac(o));
        Assert.Equal(OverlayNode.Eth0Mac, ReadMac(o.AsSpan(6)));
        Assert.Equal(IPAddress.Parse("2001:db8:b::9"), new IPAddress(o.AsSpan(14 + 24, 16)));
        Assert.Equal(0, o[14 + 40 + 3]);
        Assert.Equal(63, o[14 + 7]);
    }

    [Fact]
    public void EndXSendsOutOfItsAdjacency()
    {
        var (m, o) = _node.Run(ToSid("2001:db8:a::2", 4, Inner4ToWeb(), Srh(1, "2001:db8:99::9", "2001:db8:a::2")), 0);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.NodeBMac, ReadMac(o));     // the adjacency, although 2001:db8:99::9 has no route
        Assert.Equal(IPAddress.Parse("2001:db8:99::9"), new IPAddress(o.AsSpan(14 + 24, 16)));
        Assert.Equal(63, o[14 + 7]);
    }

    [Fact]
    public void EndWithoutSegmentsLeftIsDropped185()
    {
        Assert.Equal(DropReason.NoSid, _node.Run(ToSid("2001:db8:a::1", 4, Inner4ToWeb(), Srh(0, "2001:db8:a::1")), 0).Meta.DropReason);
        Assert.Equal(DropReason.NoSid, _node.Run(ToSid("2001:db8:a::1", 4, Inner4ToWeb()), 0).Meta.DropReason);
    }

    [Fact]
    public void AddressInOurLocatorThatIsNoSidIsDropped185()
    {
        Assert.Equal(DropReason.NoSid, _node.Run(ToSid("2001:db8:a::99", 4, Inner4ToWeb()), 0).Meta.DropReason);
    }

    [Fact]
    public void CiliumSrv6EgressPolicySendsItsDestinationsToTheSid()
    {
        using var node = new OverlayNode(OverlayNode.Yaml(extra: """
            ---
            apiVersion: cilium.io/v2alpha1
            kind: CiliumSRv6VRF
            metadata: {name: vrf1}
            spec:
              vrfID: 1
              rules:
              - selectors: [{endpointSelector: {matchLabels: {app: web}}}]
                destinationCIDRs: ["198.19.0.0/16"]
            ---
            apiVersion: cilium.io/v2alpha1
            kind: CiliumSRv6EgressPolicy
            metadata: {name: to-dc2}
            spec:
              vrfID: 1
              destinationCIDRs: ["198.19.50.0/24"]
              destinationSID: "2001:db8:b::100"
            """));
        var (m, o) = node.Run(FromWeb4("198.19.50.5"), OverlayNode.WebPort);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OverlayNode.NodeBMac, ReadMac(o));
        Assert.Equal(IPAddress.Parse("2001:db8:b::100"), new IPAddress(o.AsSpan(14 + 24, 16)));
        Assert.Equal(4, o[14 + 40]);
    }
}
