using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dataplane.Core.Checksums;

/// <summary>
/// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), for the packet hot path: no
/// allocation, no exceptions, span and pointer based.
/// </summary>
/// <remarks>
/// <para><b>Byte order.</b> Sums are taken over <b>big-endian (network order) 16-bit words</b> as they sit in
/// the packet. Every value this class returns or accepts as a checksum, word or partial sum is a plain
/// <b>host-order</b> number whose meaning is that big-endian word: <c>0xB861</c> means bytes <c>B8 61</c> on the
/// wire. Read header fields with <see cref="BinaryPrimitives.ReadUInt16BigEndian"/> and write results with
/// <see cref="BinaryPrimitives.WriteUInt16BigEndian"/>.</para>
/// <para><b>Partial sums.</b> A <c>uint</c> sum is an unfolded one's-complement accumulation; chain them
/// through the <c>initial</c> argument or by adding them (then fold). A chunk of odd length is padded as if it
/// were the end of the data, so only the last chunk of a chained sum may have odd length.</para>
/// </remarks>
public static unsafe partial class InetChecksum
{
    /// <summary>
    /// Below this length the vector set-up and lane spill cost more than they save, so headers (20..60 bytes)
    /// take the scalar 32-bit-load kernel (measured, see ChecksumBenchmarks).
    /// </summary>
    internal const int VectorMinLength = 64;

    /// <summary>
    /// One's-complement sum of <paramref name="data"/> as big-endian 16-bit words (an odd trailing byte is padded
    /// with zero), added to <paramref name="initial"/>. The result is unfolded; pass it to <see cref="Fold"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Sum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        fixed (byte* p = data) return Sum(p, data.Length, initial);
    }

    /// <summary>Pointer form of <see cref="Sum(ReadOnlySpan{byte}, uint)"/>; <paramref name="len"/> must be ≥ 0.</summary>
    public static uint Sum(byte* p, int len, uint initial = 0)
    {
        ulong native;
        if (len < VectorMinLength) native = SumKernels.Wide(p, len);
        else if (Vector256.IsHardwareAccelerated) native = SumKernels.Vector256Kernel(p, len);
        else if (Vector128.IsHardwareAccelerated) native = SumKernels.Vector128Kernel(p, len);
        else native = SumKernels.Wide(p, len);
        return AddNative(initial, native);
    }

    /// <summary>
    /// Folds <paramref name="sum"/> to 16 bits and complements it: the value to store in a checksum field
    /// (host order; write it big-endian).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(uint sum) => (ushort)~FoldNoComplement(sum);

    /// <summary>
    /// Folds <paramref name="sum"/> to 16 bits with end-around carry, without complementing. A non-zero sum
    /// folds to 1..0xFFFF (never 0), so a packet whose checksum verifies folds to 0xFFFF.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FoldNoComplement(uint sum)
    {
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>Turns a kernel's native-order accumulation into a big-endian-word sum and adds it to <paramref name="initial"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint AddNative(uint initial, ulong native)
    {
        uint folded = FoldNoComplement(Fold64(native));
        if (BitConverter.IsLittleEndian) folded = BinaryPrimitives.ReverseEndianness((ushort)folded);
        return AddCarry(initial, folded);
    }

    /// <summary>Folds a 64-bit accumulation into 32 bits with end-around carry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Fold64(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        return (uint)sum;
    }

    /// <summary>32-bit one's-complement addition: the carry out of bit 31 wraps around to bit 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint AddCarry(uint a, uint b)
    {
        uint s = a + b;
        return s + (s < b ? 1u : 0u);
    }
}
