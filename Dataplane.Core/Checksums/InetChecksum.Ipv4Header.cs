using System.Runtime.CompilerServices;

namespace Dataplane.Core.Checksums;

public static unsafe partial class InetChecksum
{
    /// <summary>Byte offset of the header checksum in an IPv4 header.</summary>
    public const int Ipv4ChecksumOffset = 10;

    /// <summary>
    /// The IPv4 header checksum (host order; write it big-endian at offset 10) of <paramref name="header"/>,
    /// treating the checksum field as zero, so the caller need not clear it first.
    /// </summary>
    /// <remarks>
    /// <paramref name="header"/> must be exactly the header (IHL × 4 bytes, 20..60): the whole span is summed.
    /// A span shorter than 12 bytes is summed without skipping anything (it cannot be a header).
    /// </remarks>
    public static ushort Ipv4Header(ReadOnlySpan<byte> header)
    {
        if (header.Length < Ipv4ChecksumOffset + 2) return Fold(Sum(header));
        // Headers are at most 60 bytes: the scalar kernel beats vector set-up, and summing around the field
        // in one accumulation saves a second fold.
        fixed (byte* p = header)
        {
            ulong native = SumKernels.Wide(p, Ipv4ChecksumOffset)
                           + SumKernels.Wide(p + Ipv4ChecksumOffset + 2, header.Length - Ipv4ChecksumOffset - 2);
            return Fold(AddNative(0, native));
        }
    }

    /// <summary>
    /// True when the header, including its checksum field, sums to 0xFFFF (RFC 1071 verification).
    /// <paramref name="header"/> must be exactly IHL × 4 bytes.
    /// </summary>
    public static bool Ipv4HeaderValid(ReadOnlySpan<byte> header) => FoldNoComplement(Sum(header)) == 0xFFFF;
}

public static unsafe partial class InetChecksum
{
    /// <summary>
    /// Hot-path verification of an IPv4 header of <paramref name="ihl"/> bytes (20..60, a multiple of 4, already
    /// bounds-checked by the caller): 32-bit loads into a 64-bit accumulator, then one fold. The one's-complement
    /// sum is byte-order independent, and 0xFFFF reads the same both ways, so no byte swap is needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Ipv4HeaderValid(byte* h, int ihl)
    {
        ulong s = (ulong)Unsafe.ReadUnaligned<uint>(h) + Unsafe.ReadUnaligned<uint>(h + 4)
                  + Unsafe.ReadUnaligned<uint>(h + 8) + Unsafe.ReadUnaligned<uint>(h + 12)
                  + Unsafe.ReadUnaligned<uint>(h + 16);
        for (int i = 20; i < ihl; i += 4) s += Unsafe.ReadUnaligned<uint>(h + i);
        s = (s & 0xFFFFFFFF) + (s >> 32);
        s = (s & 0xFFFFFFFF) + (s >> 32);
        return FoldNoComplement((uint)s) == 0xFFFF;
    }
}
