using System.Buffers.Binary;

namespace Dataplane.Core.Checksums;

/// <summary>
/// Completes transport checksums a sender left to "hardware" (Linux CHECKSUM_PARTIAL: a veth or a NIC with
/// transmit checksum offload on). Such a frame carries, in the TCP/UDP checksum field, only the folded
/// pseudo-header sum; the receiving kernel accepts it because the skb says so, but a frame forwarded by us
/// leaves without that mark and the next receiver drops it. Ports complete the sum on receive, so the
/// pipeline only ever sees complete frames.
/// </summary>
public static unsafe class PartialChecksum
{
    private const ushort EtherIpv4 = 0x0800, EtherIpv6 = 0x86DD, EtherVlan = 0x8100, EtherQinQ = 0x88A8;
    private const byte Tcp = 6, Udp = 17;

    /// <summary>
    /// Completes the sum whose coverage starts at <paramref name="start"/> and whose field is at
    /// <paramref name="start"/> + <paramref name="offset"/> (virtio_net_hdr csum_start/csum_offset, as AF_PACKET
    /// with PACKET_VNET_HDR reports them). The field holds the pseudo-header seed, so summing the covered bytes
    /// as they are gives the checksum. False (frame untouched) when the offsets fall outside the frame.
    /// </summary>
    public static bool Complete(byte* frame, int length, int start, int offset)
    {
        if (start < 0 || offset < 0 || start + offset + 2 > length) return false;
        ushort sum = InetChecksum.Fold(InetChecksum.Sum(frame + start, length - start));
        // As the kernel's skb_checksum_help: 0 is written as 0xFFFF (the same value for TCP, "no sum" for UDP).
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(frame + start + offset, 2), sum == 0 ? (ushort)0xFFFF : sum);
        return true;
    }

    /// <summary>
    /// For backends that cannot see the kernel's CHECKSUM_PARTIAL mark (AF_XDP, DPDK PMDs over veths): a TCP or
    /// UDP checksum field equal to the folded pseudo-header sum is a partial sum, and is completed. A frame whose
    /// sum is already complete and right is left exactly as it was (recomputing it would give the same value),
    /// so the guess can only ever touch a frame that is partial — or corrupt with 1 chance in 65 536. Only plain
    /// IPv4 (unfragmented) and IPv6 without extension headers, behind at most one VLAN tag, are looked at.
    /// </summary>
    /// <returns>True when the frame carried a partial sum and it was completed.</returns>
    public static bool TryCompleteGuessed(byte* frame, int length)
    {
        if (length < 14 + 20 + 8) return false;
        int l3 = 14;
        ushort type = (ushort)((frame[12] << 8) | frame[13]);
        if (type is EtherVlan or EtherQinQ)
        {
            type = (ushort)((frame[16] << 8) | frame[17]);
            l3 = 18;
        }
        byte* ip = frame + l3;
        int l4, l4Length;
        byte proto;
        uint pseudo;
        if (type == EtherIpv4)
        {
            if ((ip[0] >> 4) != 4) return false;
            int ihl = (ip[0] & 0xF) * 4;
            int total = (ip[2] << 8) | ip[3];
            // Fragments (MF or an offset) never carry a partial sum.
            if (ihl < 20 || (((ip[6] << 8) | ip[7]) & 0x3FFF) != 0 || total < ihl || l3 + total > length) return false;
            proto = ip[9];
            l4 = l3 + ihl;
            l4Length = total - ihl;
            uint src = BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(ip + 12, 4));
            uint dst = BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(ip + 16, 4));
            pseudo = InetChecksum.PseudoHeaderV4(src, dst, proto, (ushort)l4Length);
        }
        else if (type == EtherIpv6)
        {
            if (length < l3 + 40 + 8 || (ip[0] >> 4) != 6) return false;
            proto = ip[6];
            l4 = l3 + 40;
            l4Length = (ip[4] << 8) | ip[5];
            if (l4 + l4Length > length) return false;
            pseudo = InetChecksum.PseudoHeaderV6(new ReadOnlySpan<byte>(ip + 8, 16), new ReadOnlySpan<byte>(ip + 24, 16), proto, (uint)l4Length);
        }
        else return false;

        int field;
        if (proto == Tcp && l4Length >= 20) field = 16;
        else if (proto == Udp && l4Length >= 8) field = 6;
        else return false;
        ushort stored = (ushort)((frame[l4 + field] << 8) | frame[l4 + field + 1]);
        if (stored != InetChecksum.FoldNoComplement(pseudo)) return false;
        return Complete(frame, l4 + l4Length, l4, field);
    }
}
