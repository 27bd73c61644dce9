using System.Buffers.Binary;
using Dataplane.Core.Checksums;

namespace Dataplane.Core.Tests.Checksums;

/// <summary>Known packets; the L4 vectors were produced by scapy and cross-checked by the reference sum.</summary>
public class PacketChecksumTests
{
    private const string Ipv4Header = "45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7";

    private const string Udp4 = "4500002d123400004011e673c0a80001c0a800c7303900350019c46b68656c6c6f2c20636865636b73756d2178";
    private const string Tcp4 = "4500003a000100003f0667bb0a0000010a00000201bbc7380000000100000002501801f6f22a0000474554202f20485454502f312e310d0a0d0a";
    private const string Udp6 = "60000000000d114020010db800000000000000000000000120010db800000000000000000000000213881770000d4fa06162636465";
    private const string Icmp6 = "60000000000c3a40fe800000000000000000000000000001ff0200000000000000000000000000018000a35f0001000270696e67";

    [Fact]
    public void Ipv4HeaderKnownVector()
    {
        byte[] header = ReferenceChecksum.Hex(Ipv4Header);
        Assert.Equal(0xB861, InetChecksum.Ipv4Header(header));
        Assert.False(InetChecksum.Ipv4HeaderValid(header));
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), 0xB861);
        Assert.True(InetChecksum.Ipv4HeaderValid(header));
        // The checksum field is ignored when computing, so a filled-in header gives the same answer.
        Assert.Equal(0xB861, InetChecksum.Ipv4Header(header));
    }

    [Theory]
    [InlineData(Udp4, 0xE673)]
    [InlineData(Tcp4, 0x67BB)]
    public void Ipv4HeadersOfRealPackets(string hex, int expected)
    {
        byte[] header = ReferenceChecksum.Hex(hex)[..20];
        Assert.Equal(expected, InetChecksum.Ipv4Header(header));
        Assert.True(InetChecksum.Ipv4HeaderValid(header));
    }

    [Theory]
    [InlineData(Udp4, 17, 6, 0xC46B)]
    [InlineData(Tcp4, 6, 16, 0xF22A)]
    public void L4V4KnownPackets(string hex, byte proto, int fieldOffset, int expected)
    {
        byte[] packet = ReferenceChecksum.Hex(hex);
        ReadOnlySpan<byte> ip = packet.AsSpan(0, 20);
        Span<byte> l4 = packet.AsSpan(20);
        Assert.True(InetChecksum.L4V4Valid(ip, l4, proto));
        Assert.Equal(expected, InetChecksum.L4V4(ip, l4, proto));
        BinaryPrimitives.WriteUInt16BigEndian(l4[fieldOffset..], 0);
        Assert.Equal(expected, InetChecksum.L4V4(ip, l4, proto));
        l4[^1] ^= 1;
        BinaryPrimitives.WriteUInt16BigEndian(l4[fieldOffset..], (ushort)expected);
        Assert.False(InetChecksum.L4V4Valid(ip, l4, proto));
    }

    [Theory]
    [InlineData(Udp6, 17, 0x4FA0)]
    [InlineData(Icmp6, 58, 0xA35F)]
    public void L4V6KnownPackets(string hex, byte nextHeader, int expected)
    {
        byte[] packet = ReferenceChecksum.Hex(hex);
        ReadOnlySpan<byte> ip = packet.AsSpan(0, 40);
        Span<byte> l4 = packet.AsSpan(40);
        Assert.True(InetChecksum.L4V6Valid(ip, l4, nextHeader));
        Assert.Equal(expected, InetChecksum.L4V6(ip, l4, nextHeader));
        l4[^1] ^= 0x80;
        Assert.False(InetChecksum.L4V6Valid(ip, l4, nextHeader));
    }

    [Fact]
    public void PseudoHeaderV4MatchesSpelledOutBytes()
    {
        byte[] pseudo = ReferenceChecksum.Hex("c0a80001 c0a800c7 00 11 0019");
        Assert.Equal(ReferenceChecksum.FoldedSum(pseudo),
            InetChecksum.FoldNoComplement(InetChecksum.PseudoHeaderV4(0xC0A80001, 0xC0A800C7, 17, 0x19)));
    }

    [Fact]
    public void PseudoHeaderV6MatchesSpelledOutBytes()
    {
        byte[] src = new byte[16], dst = new byte[16];
        var rng = new Random(8200);
        rng.NextBytes(src); rng.NextBytes(dst);
        byte[] pseudo = [.. src, .. dst, 0x00, 0x01, 0x23, 0x45, 0, 0, 0, 6];
        Assert.Equal(ReferenceChecksum.FoldedSum(pseudo),
            InetChecksum.FoldNoComplement(InetChecksum.PseudoHeaderV6(src, dst, 6, 0x0001_2345)));
    }

    [Fact]
    public void UdpV4ZeroChecksumMeansAbsentAndComputedZeroIsSentAsOnes()
    {
        byte[] packet = ReferenceChecksum.Hex(Udp4);
        ReadOnlySpan<byte> ip = packet.AsSpan(0, 20);
        Span<byte> udp = packet.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
        Assert.True(InetChecksum.L4V4Valid(ip, udp, 17));   // "no checksum" is acceptable over IPv4
        Assert.True(InetChecksum.UdpV4ChecksumAbsent(0));

        // Tune two payload bytes so the computed checksum is exactly 0: then the wire value must be 0xFFFF.
        ushort current = InetChecksum.L4V4(ip, udp, 17);
        ushort raw = current == 0xFFFF ? (ushort)0 : current;          // undo the 0 -> 0xFFFF mapping for the math
        ushort word = BinaryPrimitives.ReadUInt16BigEndian(udp[8..]);
        // Adding `raw` to a covered word lowers the checksum by `raw` (one's complement), reaching 0.
        uint bumped = (uint)word + raw;
        BinaryPrimitives.WriteUInt16BigEndian(udp[8..], (ushort)((bumped & 0xFFFF) + (bumped >> 16)));
        Assert.Equal(0, InetChecksum.Fold(InetChecksum.Sum(udp[8..], InetChecksum.Sum(udp[..6],
            InetChecksum.PseudoHeaderV4(0xC0A80001, 0xC0A800C7, 17, (ushort)udp.Length)))));
        Assert.Equal(0xFFFF, InetChecksum.L4V4(ip, udp, 17));
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0xFFFF);
        Assert.True(InetChecksum.L4V4Valid(ip, udp, 17));
        Assert.Equal(0xFFFF, InetChecksum.UdpChecksumOnWire(0));
        Assert.Equal(0x1234, InetChecksum.UdpChecksumOnWire(0x1234));
    }

    [Fact]
    public void UdpV6ZeroChecksumIsInvalid()
    {
        byte[] packet = ReferenceChecksum.Hex(Udp6);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(40 + 6), 0);
        Assert.False(InetChecksum.L4V6Valid(packet.AsSpan(0, 40), packet.AsSpan(40), 17));
    }
}
