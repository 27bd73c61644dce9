using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Parsing;

public class PacketParserTests
{
    [Fact]
    public void Ipv4Tcp()
    {
        var m = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 6, Tcp(40000, 80, 0x02))));
        Assert.Equal(PacketVerdict.Continue, m.Verdict);
        Assert.Equal(4, m.IpVersion);
        Assert.Equal(6, m.L4Proto);
        Assert.Equal(14, m.L3Offset);
        Assert.Equal(34, m.L4Offset);
        Assert.Equal(54, m.PayloadOffset);
        Assert.Equal(40000, m.SrcPort);
        Assert.Equal(80, m.DstPort);
        Assert.Equal(0x02, m.TcpFlags);
        Assert.Equal(64, m.Ttl);
        Assert.NotEqual(0u, m.FlowHash);
    }

    [Fact]
    public void Ipv4OptionsAreSkippedAndFlagged()
    {
        var m = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 17, Udp(1, 2), options: [1, 1, 1, 0])));
        Assert.Equal(PacketVerdict.Continue, m.Verdict);
        Assert.True(m.Flags.HasFlag(PacketFlags.Ipv4Options));
        Assert.Equal(38, m.L4Offset);
        Assert.Equal(2, m.DstPort);
    }

    [Fact]
    public void VlanAndQinQ()
    {
        var m = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 17, Udp(1, 53)), vlans: [100]));
        Assert.True(m.Flags.HasFlag(PacketFlags.Vlan));
        Assert.Equal(100, m.VlanId);
        Assert.Equal(18, m.L3Offset);
        var q = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 17, Udp(1, 53)), vlans: [200, 300]));
        Assert.True(q.Flags.HasFlag(PacketFlags.QinQ));
        Assert.Equal(200, q.VlanId);
        Assert.Equal(22, q.L3Offset);
        Assert.Equal(53, q.DstPort);
        var triple = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 17, Udp(1, 53)), vlans: [1, 2, 3]));
        Assert.Equal(DropReason.UnsupportedL2Protocol, triple.DropReason);
    }

    [Fact]
    public void Fragments()
    {
        var first = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 17, Udp(5, 6), fragField: 0x2000)));
        Assert.True(first.Flags.HasFlag(PacketFlags.Fragment));
        Assert.False(first.Flags.HasFlag(PacketFlags.LaterFragment));
        Assert.Equal(6, first.DstPort);
        var later = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 17, new byte[16], fragField: 0x0010)));
        Assert.True(later.Flags.HasFlag(PacketFlags.LaterFragment));
        Assert.Equal(0, later.DstPort);
        Assert.Equal(PacketVerdict.Continue, later.Verdict);
    }

    [Fact]
    public void Icmp4EchoAndError()
    {
        var echo = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 1, Icmp(8, 0, id: 77))));
        Assert.Equal(8, echo.IcmpType);
        Assert.Equal(77, echo.SrcPort);
        var err = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 1, Icmp(3, 4))));
        Assert.True(err.Flags.HasFlag(PacketFlags.IcmpError));
    }

    [Fact]
    public void Arp()
    {
        var m = Parsed.Parse(Ethernet(0xFFFFFFFFFFFF, DefaultSrcMac, 0x0806, ArpRequest(DefaultSrcMac, "198.18.0.2", "198.18.0.1")));
        Assert.True(m.Flags.HasFlag(PacketFlags.Arp));
        Assert.True(m.Flags.HasFlag(PacketFlags.L2Multicast));
        Assert.Equal(PacketVerdict.Continue, m.Verdict);
        var bad = ArpRequest(DefaultSrcMac, "198.18.0.2", "198.18.0.1"); bad[4] = 8;
        Assert.Equal(DropReason.InvalidPacketDropped, Parsed.Parse(Ethernet(0xFFFFFFFFFFFF, DefaultSrcMac, 0x0806, bad)).DropReason);
    }

    [Fact]
    public void Ipv6WithExtensionChain()
    {
        var m = Parsed.Parse(Eth6(Ipv6("2001:db8::1", "2001:db8::2", 6, Tcp(1000, 443),
            ext: [Options(0), Options(60, 1), Srh(1, "2001:db8::2", "2001:db8::9"), Fragment(0, true)])));
        Assert.Equal(PacketVerdict.Continue, m.Verdict);
        Assert.Equal(6, m.IpVersion);
        Assert.Equal(6, m.L4Proto);
        Assert.Equal(443, m.DstPort);
        Assert.True(m.Flags.HasFlag(PacketFlags.Srh));
        Assert.True(m.Flags.HasFlag(PacketFlags.Fragment));
        Assert.Equal(14 + 40 + 8 + 16, m.SrhOffset);
        Assert.Equal(14 + 40 + 8 + 16 + 40 + 8, m.L4Offset);
    }

    [Fact]
    public void Ipv6AuthHeaderIsSkipped()
    {
        // AH length is in 4-byte units minus 2: 4 → (4+2)*4 = 24 bytes.
        var ah = new byte[23]; ah[0] = 4;
        var m = Parsed.Parse(Eth6(Ipv6("2001:db8::1", "2001:db8::2", 17, Udp(7, 8), ext: [(51, ah)])));
        Assert.Equal(PacketVerdict.Continue, m.Verdict);
        Assert.Equal(14 + 40 + 24, m.L4Offset);
        Assert.Equal(8, m.DstPort);
    }

    [Fact]
    public void Icmp6NdpAndEcho()
    {
        var ns = Parsed.Parse(Eth6(Ipv6("fe80::1", "ff02::1:ff00:1", 58, NeighborSolicitation("2001:db8::1", 0x020000000001), hopLimit: 255)));
        Assert.True(ns.Flags.HasFlag(PacketFlags.Ndp));
        Assert.Equal(135, ns.IcmpType);
        var echo = Parsed.Parse(Eth6(Ipv6("2001:db8::1", "2001:db8::2", 58, Icmp6(128, 0, id: 9))));
        Assert.Equal(9, echo.SrcPort);
        var ptb = Parsed.Parse(Eth6(Ipv6("2001:db8::1", "2001:db8::2", 58, Icmp6(2, 0))));
        Assert.True(ptb.Flags.HasFlag(PacketFlags.IcmpError));
    }

    [Fact]
    public void Vxlan()
    {
        var inner = Eth4(Ipv4("198.18.10.1", "198.18.20.1", 1, Icmp(8, 0)));
        var m = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.0.2", 17, Udp(50000, 8472, PacketBuilder.Vxlan(0x012345, inner)))));
        Assert.True(m.Flags.HasFlag(PacketFlags.Vxlan));
        Assert.Equal(0x012345u, m.Vni);
        Assert.Equal(14 + 20 + 8 + 8, m.InnerOffset);
        var noI = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.0.2", 17, Udp(50000, 8472, PacketBuilder.Vxlan(5, inner, flags: 0)))));
        Assert.Equal(DropReason.InvalidVni, noI.DropReason);
        var otherPort = Parsed.Parse(Eth4(Ipv4("198.18.0.1", "198.18.0.2", 17, Udp(50000, 4789, PacketBuilder.Vxlan(5, inner)))));
        Assert.False(otherPort.Flags.HasFlag(PacketFlags.Vxlan));
    }

    public static TheoryData<string, byte[], DropReason> Malformed()
    {
        var tcp = Eth4(Ipv4("198.18.0.1", "198.18.1.2", 6, Tcp(1, 2)));
        var v6 = Eth6(Ipv6("2001:db8::1", "2001:db8::2", 17, Udp(1, 2)));
        var data = new TheoryData<string, byte[], DropReason>
        {
            { "runt ethernet", new byte[13], DropReason.InvalidPacketDropped },
            { "unknown ethertype", Ethernet(1, 2, 0x88B5, new byte[40]), DropReason.UnsupportedL3Protocol },
            { "truncated ipv4", tcp[..30], DropReason.InvalidPacketDropped },
            { "truncated vlan", Ethernet(1, 2, 0x8100, [0]), DropReason.InvalidPacketDropped },
            { "truncated tcp", Trunc(tcp, 14 + 20 + 10, fixIpLen: true), DropReason.CtTruncatedOrInvalidHeader },
            { "truncated udp", Trunc(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 17, Udp(1, 2))), 14 + 20 + 4, fixIpLen: true), DropReason.CtTruncatedOrInvalidHeader },
            { "truncated icmp", Trunc(Eth4(Ipv4("198.18.0.1", "198.18.1.2", 1, Icmp(8, 0))), 14 + 20 + 4, fixIpLen: true), DropReason.CtTruncatedOrInvalidHeader },
            { "truncated ipv6", v6[..40], DropReason.InvalidPacketDropped },
        };
        var badIhl = (byte[])tcp.Clone(); badIhl[14] = 0x44; data.Add("ihl below 5", badIhl, DropReason.InvalidPacketDropped);
        var bigIhl = (byte[])tcp.Clone(); bigIhl[14] = 0x4F; data.Add("ihl beyond packet", bigIhl, DropReason.InvalidPacketDropped);
        var badVer = (byte[])tcp.Clone(); badVer[14] = 0x65; data.Add("ipv4 ethertype, version 6", badVer, DropReason.InvalidPacketDropped);
        var longTotal = (byte[])tcp.Clone(); longTotal[17] += 10; FixIpv4Checksum(longTotal); data.Add("total length beyond frame", longTotal, DropReason.InvalidPacketDropped);
        var shortTotal = (byte[])tcp.Clone(); shortTotal[16] = 0; shortTotal[17] = 12; FixIpv4Checksum(shortTotal); data.Add("total length inside header", shortTotal, DropReason.InvalidPacketDropped);
        var badSum = (byte[])tcp.Clone(); badSum[24] ^= 0xFF; data.Add("bad ipv4 checksum", badSum, DropReason.InvalidL3Checksum);
        var badDoff = (byte[])tcp.Clone(); badDoff[14 + 20 + 12] = 0x30; data.Add("tcp data offset 3", badDoff, DropReason.CtTruncatedOrInvalidHeader);
        var badUlen = Eth4(Ipv4("198.18.0.1", "198.18.1.2", 17, Udp(1, 2))); badUlen[14 + 20 + 5] = 200; data.Add("udp length beyond", badUlen, DropReason.CtTruncatedOrInvalidHeader);
        var v6len = (byte[])v6.Clone(); v6len[14 + 5] += 1; data.Add("ipv6 payload length beyond frame", v6len, DropReason.InvalidPacketDropped);
        data.Add("hop-by-hop not first", Eth6(Ipv6("2001:db8::1", "2001:db8::2", 17, Udp(1, 2), ext: [Options(60), Options(0)])), DropReason.InvalidIpv6ExtensionHeader);
        var many = Enumerable.Range(0, 9).Select(_ => Options(60)).ToArray();
        data.Add("over-long ext chain", Eth6(Ipv6("2001:db8::1", "2001:db8::2", 17, Udp(1, 2), ext: many)), DropReason.InvalidIpv6ExtensionHeader);
        var truncExt = Eth6(Ipv6("2001:db8::1", "2001:db8::2", 59, [], ext: [Options(60, 3)]));
        data.Add("ext header longer than packet", Trunc6(truncExt, 14 + 40 + 16), DropReason.InvalidIpv6ExtensionHeader);
        var (_, srh) = Srh(3, "2001:db8::2"); data.Add("srh segments left beyond last entry", Eth6(Ipv6("2001:db8::1", "2001:db8::2", 17, Udp(1, 2), ext: [(43, srh)])), DropReason.InvalidIpv6ExtensionHeader);
        var (_, srh2) = Srh(0, "2001:db8::2", "2001:db8::3"); srh2[0] = 2; data.Add("srh length too short for entries", Eth6(Ipv6("2001:db8::1", "2001:db8::2", 17, Udp(1, 2), ext: [(43, srh2)])), DropReason.InvalidIpv6ExtensionHeader);
        return data;
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedPacketsAreCountedDropsWithCiliumReasons(string name, byte[] frame, DropReason expected)
    {
        var m = Parsed.Parse(frame);
        Assert.True(m.Verdict == PacketVerdict.Drop, name);
        Assert.Equal(expected, m.DropReason);
    }

    private static byte[] Trunc(byte[] frame, int length, bool fixIpLen)
    {
        var b = frame[..length];
        if (fixIpLen) { b[16] = (byte)((length - 14) >> 8); b[17] = (byte)(length - 14); FixIpv4Checksum(b); }
        return b;
    }

    private static byte[] Trunc6(byte[] frame, int length)
    {
        var b = frame[..length];
        b[18] = (byte)((length - 54) >> 8); b[19] = (byte)(length - 54);
        return b;
    }

    private static void FixIpv4Checksum(byte[] f)
    {
        f[24] = f[25] = 0;
        var c = Checksum(f.AsSpan(14, (f[14] & 0xF) * 4));
        f[24] = (byte)(c >> 8); f[25] = (byte)c;
    }
}
