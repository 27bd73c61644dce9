using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Dataplane.Core.Checksums;

/// <remarks>
/// Incremental updates use RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), in one's-complement arithmetic. Eqn. 2
/// (HC' = HC - ~m - m') can yield 0x0000 where a full recompute yields 0xFFFF (the -0/+0 problem the RFC
/// describes); eqn. 3 cannot, and for any checksum that was itself computed over non-zero data its result is
/// bit-identical to recomputing from scratch. All values are host-order numbers of big-endian words.
/// </remarks>
public static partial class InetChecksum
{
    /// <summary>Checksum after one 16-bit word of the covered data changes from <paramref name="oldWord"/> to <paramref name="newWord"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update16(ushort checksum, ushort oldWord, ushort newWord) =>
        Fold((uint)(ushort)~checksum + (ushort)~oldWord + newWord);

    /// <summary>
    /// Checksum after a 32-bit field at an even offset changes, e.g. an IPv4 address rewritten by NAT (the same
    /// call fixes the IP header checksum and, through the pseudo-header, the TCP/UDP one). Values are host-order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update32(ushort checksum, uint oldValue, uint newValue) =>
        Fold((uint)(ushort)~checksum
             + (ushort)~(oldValue >> 16) + (ushort)~oldValue
             + (newValue >> 16) + (newValue & 0xFFFF));

    /// <summary>
    /// Checksum after a 16-byte field at an even offset changes, e.g. an IPv6 address rewrite (only L4
    /// checksums cover it, through the pseudo-header). Both spans are the addresses as they sit in the packet.
    /// </summary>
    public static ushort Update128(ushort checksum, ReadOnlySpan<byte> old16, ReadOnlySpan<byte> new16)
    {
        Debug.Assert(old16.Length == 16 && new16.Length == 16);
        // ~(m1 + ... + m8) equals ~m1 + ... + ~m8 in one's complement, so the old words can be summed first.
        uint sum = (uint)(ushort)~checksum + (ushort)~FoldNoComplement(AddNative(0, SumAddress16(old16)));
        return Fold(AddNative(sum, SumAddress16(new16)));
    }

    /// <summary>
    /// IPv4 header checksum after TTL changes. TTL is the high byte of the 16-bit word it shares with the
    /// protocol; the protocol byte cancels out, so only the TTL bytes are needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort UpdateTtl(ushort checksum, byte oldTtl, byte newTtl) =>
        Update16(checksum, (ushort)(oldTtl << 8), (ushort)(newTtl << 8));

    /// <summary>
    /// Decrements the TTL of the IPv4 header in place and patches its checksum: the forwarding fast path.
    /// The caller must have checked TTL &gt; 1 (a TTL of 0 would wrap to 255). <paramref name="ipv4Header"/>
    /// must be at least 20 bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void DecrementTtl(Span<byte> ipv4Header)
    {
        const int ttlOffset = 8;
        byte ttl = ipv4Header[ttlOffset];
        byte newTtl = (byte)(ttl - 1);
        ipv4Header[ttlOffset] = newTtl;
        Span<byte> field = ipv4Header.Slice(Ipv4ChecksumOffset, 2);
        BinaryPrimitives.WriteUInt16BigEndian(field, UpdateTtl(BinaryPrimitives.ReadUInt16BigEndian(field), ttl, newTtl));
    }

    /// <summary>
    /// <see cref="Update16"/> for a UDP checksum: a 0 field (no checksum, IPv4 only) stays 0, and a result of 0
    /// is written as 0xFFFF so it is not mistaken for "no checksum".
    /// </summary>
    public static ushort UpdateUdp16(ushort checksum, ushort oldWord, ushort newWord) =>
        checksum == 0 ? (ushort)0 : UdpChecksumOnWire(Update16(checksum, oldWord, newWord));

    /// <summary><see cref="Update32"/> for a UDP checksum; see <see cref="UpdateUdp16"/> for the zero rules.</summary>
    public static ushort UpdateUdp32(ushort checksum, uint oldValue, uint newValue) =>
        checksum == 0 ? (ushort)0 : UdpChecksumOnWire(Update32(checksum, oldValue, newValue));

    /// <summary>
    /// <see cref="Update128"/> for a UDP-over-IPv6 checksum: a result of 0 is written as 0xFFFF. A 0 field is
    /// invalid over IPv6 and is left alone, as over IPv4, rather than turned into a bogus checksum.
    /// </summary>
    public static ushort UpdateUdp128(ushort checksum, ReadOnlySpan<byte> old16, ReadOnlySpan<byte> new16) =>
        checksum == 0 ? (ushort)0 : UdpChecksumOnWire(Update128(checksum, old16, new16));
}
