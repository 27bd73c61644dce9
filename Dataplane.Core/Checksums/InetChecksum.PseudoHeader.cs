using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Core.Checksums;

public static unsafe partial class InetChecksum
{
    /// <summary>
    /// Unfolded sum of the IPv4 pseudo-header (RFC 793 §3.1, RFC 768): source, destination, zero, protocol,
    /// and the TCP/UDP length. Addresses are host-order numbers (192.168.0.1 is 0xC0A80001).
    /// Pass the result as <c>initial</c> to <see cref="Sum(ReadOnlySpan{byte}, uint)"/> over the segment.
    /// </summary>
    public static uint PseudoHeaderV4(uint srcHostOrder, uint dstHostOrder, byte proto, ushort l4Length) =>
        (srcHostOrder >> 16) + (srcHostOrder & 0xFFFF) + (dstHostOrder >> 16) + (dstHostOrder & 0xFFFF)
        + proto + (uint)l4Length;

    /// <summary>
    /// Unfolded sum of the IPv6 pseudo-header (RFC 8200 §8.1): 16-byte source and destination addresses as
    /// they sit in the packet, 32-bit upper-layer length and next header. With a Routing header the destination
    /// is the final one, not the one in the IPv6 header.
    /// </summary>
    /// <remarks>Each address span must be 16 bytes; a shorter one is summed as it is.</remarks>
    public static uint PseudoHeaderV6(ReadOnlySpan<byte> src16, ReadOnlySpan<byte> dst16, byte nextHeader, uint l4Length)
    {
        uint sum = (l4Length >> 16) + (l4Length & 0xFFFF) + nextHeader;
        return AddNative(sum, SumAddress16(src16) + SumAddress16(dst16));
    }

    /// <summary>Native-order accumulation of a 16-byte address as four 32-bit loads (no vector set-up).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong SumAddress16(ReadOnlySpan<byte> address16)
    {
        if (address16.Length != 16)
        {
            fixed (byte* p = address16) return SumKernels.Wide(p, address16.Length);
        }
        ref byte b = ref MemoryMarshal.GetReference(address16);
        return (ulong)Unsafe.ReadUnaligned<uint>(ref b) + Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, 4))
               + Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, 8)) + Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, 12));
    }
}
