namespace Dataplane.Core.Checksums;

public static partial class InetChecksum
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
        uint sum = Sum(src16, (l4Length >> 16) + (l4Length & 0xFFFF) + nextHeader);
        return Sum(dst16, sum);
    }
}
