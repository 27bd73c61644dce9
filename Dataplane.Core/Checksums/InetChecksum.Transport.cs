using System.Buffers.Binary;
using System.Diagnostics;

namespace Dataplane.Core.Checksums;

public static partial class InetChecksum
{
    private const byte ProtoIcmp = 1;
    private const byte ProtoTcp = 6;
    private const byte ProtoUdp = 17;
    private const byte ProtoIcmpV6 = 58;

    /// <summary>
    /// TCP, UDP or ICMP checksum over IPv4 (host order; write it big-endian into the segment).
    /// <paramref name="ipHeader"/> supplies the addresses (bytes 12..19); the length is <paramref name="l4Segment"/>'s.
    /// </summary>
    /// <remarks>
    /// For TCP (6), UDP (17) and ICMP (1) the checksum field inside the segment is treated as zero, so the
    /// caller need not clear it; for any other protocol the caller must zero the field first. ICMP over IPv4 has
    /// no pseudo-header (RFC 792). For UDP a computed 0 is returned as 0xFFFF, because 0 on the wire means
    /// "no checksum" (RFC 768).
    /// </remarks>
    public static ushort L4V4(ReadOnlySpan<byte> ipHeader, ReadOnlySpan<byte> l4Segment, byte proto)
    {
        Debug.Assert(ipHeader.Length >= 20);
        uint pseudo = proto == ProtoIcmp ? 0 : PseudoHeaderV4(
            BinaryPrimitives.ReadUInt32BigEndian(ipHeader[12..]), BinaryPrimitives.ReadUInt32BigEndian(ipHeader[16..]),
            proto, (ushort)l4Segment.Length);
        ushort checksum = Fold(SumSkippingChecksumField(l4Segment, proto, pseudo));
        return proto == ProtoUdp ? UdpChecksumOnWire(checksum) : checksum;
    }

    /// <summary>
    /// TCP, UDP or ICMPv6 checksum over IPv6. <paramref name="ipv6Header"/> is the 40-byte fixed header
    /// (addresses at 8..39); <paramref name="nextHeader"/> is the upper-layer protocol after any extension headers.
    /// </summary>
    /// <remarks>
    /// The checksum field is treated as zero for TCP, UDP and ICMPv6 (58); for others the caller must zero it.
    /// With a Routing header the pseudo-header needs the final destination: use <see cref="PseudoHeaderV6"/>.
    /// For UDP a computed 0 is returned as 0xFFFF (RFC 8200 §8.1).
    /// </remarks>
    public static ushort L4V6(ReadOnlySpan<byte> ipv6Header, ReadOnlySpan<byte> l4Segment, byte nextHeader)
    {
        Debug.Assert(ipv6Header.Length >= 40);
        uint pseudo = PseudoHeaderV6(ipv6Header.Slice(8, 16), ipv6Header.Slice(24, 16), nextHeader, (uint)l4Segment.Length);
        ushort checksum = Fold(SumSkippingChecksumField(l4Segment, nextHeader, pseudo));
        return nextHeader == ProtoUdp ? UdpChecksumOnWire(checksum) : checksum;
    }

    /// <summary>
    /// Verifies a received TCP/UDP/ICMP segment over IPv4: pseudo-header plus segment (checksum included) must
    /// sum to 0xFFFF. A UDP checksum of 0 means the sender computed none (RFC 768) and is accepted.
    /// </summary>
    public static bool L4V4Valid(ReadOnlySpan<byte> ipHeader, ReadOnlySpan<byte> l4Segment, byte proto)
    {
        Debug.Assert(ipHeader.Length >= 20);
        if (proto == ProtoUdp && l4Segment.Length >= 8 && UdpV4ChecksumAbsent(BinaryPrimitives.ReadUInt16BigEndian(l4Segment[6..])))
            return true;
        uint pseudo = proto == ProtoIcmp ? 0 : PseudoHeaderV4(
            BinaryPrimitives.ReadUInt32BigEndian(ipHeader[12..]), BinaryPrimitives.ReadUInt32BigEndian(ipHeader[16..]),
            proto, (ushort)l4Segment.Length);
        return FoldNoComplement(Sum(l4Segment, pseudo)) == 0xFFFF;
    }

    /// <summary>
    /// Verifies a received TCP/UDP/ICMPv6 segment over IPv6. Unlike IPv4, a UDP checksum of 0 is invalid
    /// (RFC 8200 §8.1; the RFC 6935 tunnel exemption is the caller's policy to apply).
    /// </summary>
    public static bool L4V6Valid(ReadOnlySpan<byte> ipv6Header, ReadOnlySpan<byte> l4Segment, byte nextHeader)
    {
        Debug.Assert(ipv6Header.Length >= 40);
        uint pseudo = PseudoHeaderV6(ipv6Header.Slice(8, 16), ipv6Header.Slice(24, 16), nextHeader, (uint)l4Segment.Length);
        return FoldNoComplement(Sum(l4Segment, pseudo)) == 0xFFFF;
    }

    /// <summary>
    /// Maps a computed UDP checksum to what goes on the wire: a computed 0 is sent as 0xFFFF (its one's-complement
    /// twin), since a 0 field means "no checksum" (RFC 768, RFC 8200 §8.1).
    /// </summary>
    public static ushort UdpChecksumOnWire(ushort computed) => computed == 0 ? (ushort)0xFFFF : computed;

    /// <summary>True when a UDP-over-IPv4 checksum field says the sender computed no checksum (field is 0).</summary>
    public static bool UdpV4ChecksumAbsent(ushort checksumField) => checksumField == 0;

    /// <summary>Offset of the checksum field inside the segment for the protocols this class knows, else -1.</summary>
    internal static int ChecksumFieldOffset(byte proto) => proto switch
    {
        ProtoTcp => 16,
        ProtoUdp => 6,
        ProtoIcmp or ProtoIcmpV6 => 2,
        _ => -1,
    };

    /// <summary>
    /// Sums the segment as if its checksum field were zero by summing around it (the offset is even, so the two
    /// halves chain). Skipping rather than subtracting keeps the result bit-exact for an all-zero sum.
    /// </summary>
    private static uint SumSkippingChecksumField(ReadOnlySpan<byte> segment, byte proto, uint initial)
    {
        int offset = ChecksumFieldOffset(proto);
        if (offset < 0 || segment.Length < offset + 2) return Sum(segment, initial);
        return Sum(segment[(offset + 2)..], Sum(segment[..offset], initial));
    }
}
