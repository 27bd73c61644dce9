using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dataplane.Core.Checksums;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;

namespace Dataplane.Core.Parsing;

/// <summary>
/// Parses L2 → L4 in one pass and writes offsets and fields into <see cref="PacketMeta"/>. Never throws and
/// never reads past <see cref="PacketMeta.Length"/>: every malformed case becomes a drop with Cilium's reason
/// (134 invalid packet for bad L2/L3, 135 for a truncated L4 header, 139 unknown EtherType, 153 bad IPv4
/// header checksum, 156 bad IPv6 extension chain, 166 unsupported L2 encapsulation).
/// </summary>
public static unsafe class PacketParser
{
    /// <summary>More extension headers than this is treated as an attack (Cilium caps the chain too).</summary>
    public const int MaxIpv6ExtHeaders = 8;

    /// <summary>Parses one packet. <paramref name="vxlanPort"/> = 0 disables VXLAN recognition.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Parse(ref PacketMeta m, ushort vxlanPort)
    {
        byte* p = m.Data;
        int len = m.Length;
        if (len < HeaderSizes.Ethernet) { m.Drop(DropReason.InvalidPacketDropped); return; }
        if ((p[0] & 1) != 0) m.Flags |= PacketFlags.L2Multicast;

        int off = 12;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(p + off, 2));
        int tags = 0;
        while (type == EtherTypes.Vlan || type == EtherTypes.QinQ)
        {
            // Outer S-tag + inner C-tag is the deepest stacking we accept.
            if (++tags > 2) { m.Drop(DropReason.UnsupportedL2Protocol); return; }
            if (len < off + 2 + HeaderSizes.VlanTag + 2) { m.Drop(DropReason.InvalidPacketDropped); return; }
            if (tags == 1)
            {
                m.Flags |= PacketFlags.Vlan;
                m.VlanId = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(p + off + 2, 2)) & 0x0FFF);
            }
            else m.Flags |= PacketFlags.QinQ;
            off += HeaderSizes.VlanTag;
            type = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(p + off, 2));
        }
        off += 2;
        m.EtherType = type;
        m.L3Offset = (ushort)off;

        switch (type)
        {
            case EtherTypes.Ipv4: ParseIpv4(ref m, p, off, len, vxlanPort); break;
            case EtherTypes.Ipv6: ParseIpv6(ref m, p, off, len, vxlanPort); break;
            case EtherTypes.Arp: ParseArp(ref m, p, off, len); break;
            default: m.Drop(DropReason.UnsupportedL3Protocol); break;
        }
    }

    private static void ParseArp(ref PacketMeta m, byte* p, int off, int len)
    {
        if (len - off < HeaderSizes.Arp) { m.Drop(DropReason.InvalidPacketDropped); return; }
        byte* a = p + off;
        // Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4.
        if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0 || a[4] != 6 || a[5] != 4)
        { m.Drop(DropReason.InvalidPacketDropped); return; }
        m.Flags |= PacketFlags.Arp;
    }

    private static void ParseIpv4(ref PacketMeta m, byte* p, int off, int len, ushort vxlanPort)
    {
        int avail = len - off;
        if (avail < HeaderSizes.Ipv4) { m.Drop(DropReason.InvalidPacketDropped); return; }
        byte* ip = p + off;
        int ihl = (ip[0] & 0x0F) * 4;
        if ((ip[0] >> 4) != 4 || ihl < HeaderSizes.Ipv4 || ihl > avail) { m.Drop(DropReason.InvalidPacketDropped); return; }
        int total = (ip[2] << 8) | ip[3];
        // Trailing Ethernet padding is fine; a total length beyond the frame or inside the header is not.
        if (total < ihl || total > avail) { m.Drop(DropReason.InvalidPacketDropped); return; }
        if (!InetChecksum.Ipv4HeaderValid(ip, ihl)) { m.Drop(DropReason.InvalidL3Checksum); return; }

        m.IpVersion = 4;
        m.Ttl = ip[8];
        m.L4Proto = ip[9];
        if (ihl > HeaderSizes.Ipv4) m.Flags |= PacketFlags.Ipv4Options;
        int fragField = (ip[6] << 8) | ip[7];
        bool moreFragments = (fragField & 0x2000) != 0;
        int fragOffset = fragField & 0x1FFF;
        int l4 = off + ihl;
        m.L4Offset = (ushort)l4;
        uint hash = FlowHash.Ipv4(*(uint*)(ip + 12), *(uint*)(ip + 16), ip[9]);
        if (moreFragments || fragOffset != 0)
        {
            m.Flags |= PacketFlags.Fragment;
            if (fragOffset != 0)
            {
                // No L4 header in later fragments: leave ports zero.
                m.Flags |= PacketFlags.LaterFragment;
                m.PayloadOffset = (ushort)l4;
                m.FlowHash = FlowHash.Finish(hash);
                return;
            }
        }
        ParseL4(ref m, p, l4, off + total, vxlanPort, hash);
    }

    private static void ParseIpv6(ref PacketMeta m, byte* p, int off, int len, ushort vxlanPort)
    {
        int avail = len - off;
        if (avail < HeaderSizes.Ipv6) { m.Drop(DropReason.InvalidPacketDropped); return; }
        byte* ip = p + off;
        if ((ip[0] >> 4) != 6) { m.Drop(DropReason.InvalidPacketDropped); return; }
        int payload = (ip[4] << 8) | ip[5];
        if (HeaderSizes.Ipv6 + payload > avail) { m.Drop(DropReason.InvalidPacketDropped); return; }
        m.IpVersion = 6;
        m.Ttl = ip[7];
        int end = off + HeaderSizes.Ipv6 + payload;
        uint hash = FlowHash.Ipv6(ip + 8);

        byte next = ip[6];
        int cur = off + HeaderSizes.Ipv6;
        for (int n = 0; ; n++)
        {
            if (next is not (IpProtocols.HopByHop or IpProtocols.Ipv6Route or IpProtocols.Ipv6Frag
                or IpProtocols.DestOpts or IpProtocols.Ah))
                break;
            if (n >= MaxIpv6ExtHeaders) { m.Drop(DropReason.InvalidIpv6ExtensionHeader); return; }
            // Hop-by-hop options are only valid directly after the fixed header (RFC 8200 §4.1).
            if (next == IpProtocols.HopByHop && n != 0) { m.Drop(DropReason.InvalidIpv6ExtensionHeader); return; }
            if (end - cur < 8) { m.Drop(DropReason.InvalidIpv6ExtensionHeader); return; }
            byte* h = p + cur;
            int hlen = next switch
            {
                IpProtocols.Ah => (h[1] + 2) * 4,
                IpProtocols.Ipv6Frag => 8,
                _ => (h[1] + 1) * 8,
            };
            if (hlen > end - cur) { m.Drop(DropReason.InvalidIpv6ExtensionHeader); return; }
            m.Flags |= PacketFlags.Ipv6ExtHeaders;
            if (next == IpProtocols.Ipv6Route && h[2] == 4)
            {
                if (!ValidSrh(h, hlen)) { m.Drop(DropReason.InvalidIpv6ExtensionHeader); return; }
                m.Flags |= PacketFlags.Srh;
                m.SrhOffset = (ushort)cur;
            }
            else if (next == IpProtocols.Ipv6Frag)
            {
                int fragField = (h[2] << 8) | h[3];
                m.Flags |= PacketFlags.Fragment;
                if ((fragField & 0xFFF8) != 0)
                {
                    m.Flags |= PacketFlags.LaterFragment;
                    m.L4Proto = h[0];
                    m.L4Offset = m.PayloadOffset = (ushort)(cur + hlen);
                    m.FlowHash = FlowHash.Finish(hash);
                    return;
                }
            }
            next = h[0];
            cur += hlen;
        }
        m.L4Proto = next;
        m.L4Offset = (ushort)cur;
        ParseL4(ref m, p, cur, end, vxlanPort, hash);
    }

    /// <summary>RFC 8754 §2: length must hold Last Entry + 1 segments; Segments Left must not exceed it.</summary>
    private static bool ValidSrh(byte* h, int hlen)
    {
        int lastEntry = h[4];
        int segmentsLeft = h[3];
        return HeaderSizes.Srh + (lastEntry + 1) * 16 <= hlen && segmentsLeft <= lastEntry + 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ParseL4(ref PacketMeta m, byte* p, int l4, int end, ushort vxlanPort, uint hash)
    {
        int avail = end - l4;
        byte* h = p + l4;
        switch (m.L4Proto)
        {
            case IpProtocols.Tcp:
            {
                if (avail < HeaderSizes.Tcp) { m.Drop(DropReason.CtTruncatedOrInvalidHeader); return; }
                int doff = (h[12] >> 4) * 4;
                if (doff < HeaderSizes.Tcp || doff > avail) { m.Drop(DropReason.CtTruncatedOrInvalidHeader); return; }
                m.SrcPort = (ushort)((h[0] << 8) | h[1]);
                m.DstPort = (ushort)((h[2] << 8) | h[3]);
                m.TcpFlags = h[13];
                m.PayloadOffset = (ushort)(l4 + doff);
                break;
            }
            case IpProtocols.Udp:
            {
                if (avail < HeaderSizes.Udp) { m.Drop(DropReason.CtTruncatedOrInvalidHeader); return; }
                int ulen = (h[4] << 8) | h[5];
                if (ulen < HeaderSizes.Udp || ulen > avail) { m.Drop(DropReason.CtTruncatedOrInvalidHeader); return; }
                m.SrcPort = (ushort)((h[0] << 8) | h[1]);
                m.DstPort = (ushort)((h[2] << 8) | h[3]);
                m.PayloadOffset = (ushort)(l4 + HeaderSizes.Udp);
                if (m.DstPort == vxlanPort && vxlanPort != 0) ParseVxlan(ref m, h + HeaderSizes.Udp, ulen - HeaderSizes.Udp);
                break;
            }
            case IpProtocols.Sctp:
            {
                // SCTP common header: ports as TCP/UDP, then a verification tag and checksum (12 bytes).
                if (avail < 12) { m.Drop(DropReason.CtTruncatedOrInvalidHeader); return; }
                m.SrcPort = (ushort)((h[0] << 8) | h[1]);
                m.DstPort = (ushort)((h[2] << 8) | h[3]);
                m.PayloadOffset = (ushort)(l4 + 12);
                break;
            }
            case IpProtocols.Icmp:
            {
                if (avail < HeaderSizes.Icmp) { m.Drop(DropReason.CtTruncatedOrInvalidHeader); return; }
                m.IcmpType = h[0]; m.IcmpCode = h[1];
                m.DstPort = (ushort)((h[0] << 8) | h[1]);
                if (h[0] is 0 or 8 or 13 or 14) m.SrcPort = (ushort)((h[4] << 8) | h[5]);           // echo / timestamp id
                else if (h[0] is 3 or 4 or 5 or 11 or 12) m.Flags |= PacketFlags.IcmpError;
                m.PayloadOffset = (ushort)(l4 + HeaderSizes.Icmp);
                break;
            }
            case IpProtocols.Icmpv6:
            {
                if (avail < HeaderSizes.Icmp) { m.Drop(DropReason.CtTruncatedOrInvalidHeader); return; }
                m.IcmpType = h[0]; m.IcmpCode = h[1];
                m.DstPort = (ushort)((h[0] << 8) | h[1]);
                if (h[0] is 128 or 129) m.SrcPort = (ushort)((h[4] << 8) | h[5]);
                else if (h[0] is >= 1 and <= 4) m.Flags |= PacketFlags.IcmpError;
                else if (h[0] is >= 133 and <= 137)
                {
                    // NS/NA/redirect carry a target address after the 8-byte header.
                    if (h[0] >= 135 && avail < HeaderSizes.Icmp + 16) { m.Drop(DropReason.CtTruncatedOrInvalidHeader); return; }
                    m.Flags |= PacketFlags.Ndp;
                }
                m.PayloadOffset = (ushort)(l4 + HeaderSizes.Icmp);
                break;
            }
            default:
                m.PayloadOffset = (ushort)l4;
                break;
        }
        m.FlowHash = FlowHash.Finish(FlowHash.Mix(FlowHash.Mix(hash, ((uint)m.SrcPort << 16) | m.DstPort), m.L4Proto));
    }

    private static void ParseVxlan(ref PacketMeta m, byte* v, int avail)
    {
        // RFC 7348: 8-byte header with the I flag, then a full inner Ethernet frame.
        if (avail < HeaderSizes.Vxlan + HeaderSizes.Ethernet) { m.Drop(DropReason.InvalidPacketDropped); return; }
        if ((v[0] & 0x08) == 0) { m.Drop(DropReason.InvalidVni); return; }
        m.Flags |= PacketFlags.Vxlan;
        m.Vni = ((uint)v[4] << 16) | ((uint)v[5] << 8) | v[6];
        m.InnerOffset = (ushort)(m.PayloadOffset + HeaderSizes.Vxlan);
    }
}
