using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dataplane.Core.Checksums;

/// <summary>
/// The accumulation loops behind <see cref="InetChecksum.Sum(byte*, int, uint)"/>, kept apart so tests and
/// benchmarks can pit them against each other.
/// </summary>
/// <remarks>
/// Every kernel loads words in <b>native</b> byte order and returns an unfolded 64-bit one's-complement
/// accumulation of them. RFC 1071 §2(B): the one's-complement sum is byte-order independent up to a final
/// byte swap, so summing little-endian loads and swapping the folded 16-bit result once is exact and avoids a
/// swap per word. An odd trailing byte is the high byte of a big-endian word, i.e. the low byte of a native
/// little-endian one.
/// <para>The only 16-bit arithmetic that matters is modulo 0xFFFF, and 2^16 ≡ 1 (mod 0xFFFF), so wider lanes
/// (32-bit, 64-bit) can be summed as-is and folded at the end.</para>
/// </remarks>
internal static unsafe class SumKernels
{
    /// <summary>Word-at-a-time loop: the baseline the wider kernels are measured against.</summary>
    public static ulong Scalar16(byte* p, int len)
    {
        ulong acc = 0;
        while (len >= 2)
        {
            acc += Unsafe.ReadUnaligned<ushort>(p);
            p += 2; len -= 2;
        }
        return acc + TrailingByte(p, len);
    }

    /// <summary>
    /// 32-bit loads into two 64-bit accumulators: no carry handling is needed because a 64-bit accumulator
    /// cannot overflow from fewer than 2^32 four-byte loads, and two accumulators keep two adds in flight.
    /// </summary>
    public static ulong Wide(byte* p, int len)
    {
        ulong a = 0, b = 0;
        while (len >= 32)
        {
            a += Unsafe.ReadUnaligned<uint>(p);
            b += Unsafe.ReadUnaligned<uint>(p + 4);
            a += Unsafe.ReadUnaligned<uint>(p + 8);
            b += Unsafe.ReadUnaligned<uint>(p + 12);
            a += Unsafe.ReadUnaligned<uint>(p + 16);
            b += Unsafe.ReadUnaligned<uint>(p + 20);
            a += Unsafe.ReadUnaligned<uint>(p + 24);
            b += Unsafe.ReadUnaligned<uint>(p + 28);
            p += 32; len -= 32;
        }
        return a + b + WideTail(p, len);
    }

    /// <summary>Sums fewer than 32 bytes with 32-bit loads, then a 16-bit word and an odd byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong WideTail(byte* p, int len)
    {
        ulong acc = 0;
        while (len >= 4)
        {
            acc += Unsafe.ReadUnaligned<uint>(p);
            p += 4; len -= 4;
        }
        if (len >= 2)
        {
            acc += Unsafe.ReadUnaligned<ushort>(p);
            p += 2; len -= 2;
        }
        return acc + TrailingByte(p, len);
    }

    // Lanes are split into their 16-bit halves and summed into 32-bit lanes. Two vector accumulators each add
    // at most 2 x 0xFFFF per lane per iteration, so a block of this many iterations cannot overflow a lane
    // (2 * 0xFFFF * 32768 < 2^32); after each block the lanes are spilled into a 64-bit scalar.
    private const int VectorBlockIterations = 32768;

    /// <summary>64 bytes per iteration as two 256-bit loads, then <see cref="WideTail"/>.</summary>
    public static ulong Vector256Kernel(byte* p, int len)
    {
        ulong total = 0;
        Vector256<uint> low = Vector256.Create(0xFFFFu);
        while (len >= 64)
        {
            Vector256<uint> acc0 = Vector256<uint>.Zero, acc1 = Vector256<uint>.Zero;
            int iterations = Math.Min(len >> 6, VectorBlockIterations);
            len -= iterations << 6;
            do
            {
                Vector256<uint> v0 = Vector256.Load((uint*)p);
                Vector256<uint> v1 = Vector256.Load((uint*)(p + 32));
                acc0 += (v0 & low) + (v0 >>> 16);
                acc1 += (v1 & low) + (v1 >>> 16);
                p += 64;
            } while (--iterations != 0);
            total += SpillLanes(acc0) + SpillLanes(acc1);
        }
        if (len >= 32)
        {
            Vector256<uint> v = Vector256.Load((uint*)p);
            total += SpillLanes((v & low) + (v >>> 16));
            p += 32; len -= 32;
        }
        return total + WideTail(p, len);
    }

    /// <summary>32 bytes per iteration as two 128-bit loads, then <see cref="WideTail"/>.</summary>
    public static ulong Vector128Kernel(byte* p, int len)
    {
        ulong total = 0;
        Vector128<uint> low = Vector128.Create(0xFFFFu);
        while (len >= 32)
        {
            Vector128<uint> acc0 = Vector128<uint>.Zero, acc1 = Vector128<uint>.Zero;
            int iterations = Math.Min(len >> 5, VectorBlockIterations);
            len -= iterations << 5;
            do
            {
                Vector128<uint> v0 = Vector128.Load((uint*)p);
                Vector128<uint> v1 = Vector128.Load((uint*)(p + 16));
                acc0 += (v0 & low) + (v0 >>> 16);
                acc1 += (v1 & low) + (v1 >>> 16);
                p += 32;
            } while (--iterations != 0);
            total += SpillLanes(acc0) + SpillLanes(acc1);
        }
        if (len >= 16)
        {
            Vector128<uint> v = Vector128.Load((uint*)p);
            total += SpillLanes((v & low) + (v >>> 16));
            p += 16; len -= 16;
        }
        return total + WideTail(p, len);
    }

    /// <summary>Adds the 32-bit lanes in 64 bits (their total can exceed 2^32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SpillLanes(Vector256<uint> acc)
    {
        (Vector256<ulong> lo, Vector256<ulong> hi) = Vector256.Widen(acc);
        return Vector256.Sum(lo + hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SpillLanes(Vector128<uint> acc)
    {
        (Vector128<ulong> lo, Vector128<ulong> hi) = Vector128.Widen(acc);
        return Vector128.Sum(lo + hi);
    }

    /// <summary>The odd last byte, padded with a zero low-order byte as RFC 1071 requires, in native order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong TrailingByte(byte* p, int len) =>
        len == 0 ? 0UL : BitConverter.IsLittleEndian ? *p : (ulong)*p << 8;
}
