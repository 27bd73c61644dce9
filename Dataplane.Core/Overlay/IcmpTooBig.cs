using Dataplane.Core.Checksums;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Overlay;

/// <summary>
/// Turns a packet too big for the tunnel into the ICMP error its sender needs for path MTU discovery — IPv4
/// "fragmentation needed" (type 3 code 4, RFC 1191) or ICMPv6 "packet too big" (type 2, RFC 8201) — in the same
/// buffer, sent back out of the port it came in on. The error quotes as much of the packet as RFC 1812 / RFC 4443
/// allow (576 / 1280 bytes in all). IPv4 without DF is not ours to fragment: dropped with 157.
/// </summary>
public static unsafe class IcmpTooBig
{
    private const int MaxIcmp4 = 576, MaxIcmp6 = 1280;

    public static void Reply(ref PacketMeta p, OverlayState o, int innerMtu)
    {
        // Never an ICMP error about an ICMP error (RFC 1122 §3.2.2, RFC 4443 §2.4).
        if ((p.Flags & PacketFlags.IcmpError) != 0) { p.Drop(DropReason.IpFragmentationNotSupported); return; }
        if (p.IpVersion == 4) Reply4(ref p, o, innerMtu);
        else Reply6(ref p, o, innerMtu);
    }

    private static void Reply4(ref PacketMeta p, OverlayState o, int mtu)
    {
        byte* orig = p.Data + p.L3Offset;
        int ipLen = (orig[2] << 8) | orig[3];
        if ((orig[6] & 0x40) == 0 || o.IcmpErrorSource4 == 0) { p.Drop(DropReason.IpFragmentationNotSupported); return; }
        const int hdr = HeaderSizes.Ipv4 + HeaderSizes.Icmp;
        if (p.L3Offset != HeaderSizes.Ethernet || !p.Push(hdr)) { p.Drop(DropReason.ErrorWritingToPacket); return; }
        byte* d = p.Data;
        SwapMacs(d, d + hdr);
        d[12] = 0x08; d[13] = 0x00;
        int quote = Math.Min(ipLen, MaxIcmp4 - hdr);
        byte* ip = d + HeaderSizes.Ethernet;
        byte* q = ip + hdr;                                  // the original IPv4 header, now the quote
        int total = hdr + quote;
        ip[0] = 0x45; ip[1] = 0; ip[2] = (byte)(total >> 8); ip[3] = (byte)total;
        ip[4] = ip[5] = 0; ip[6] = 0; ip[7] = 0; ip[8] = 64; ip[9] = IpProtocols.Icmp; ip[10] = ip[11] = 0;
        uint src = o.IcmpErrorSource4;
        ip[12] = (byte)(src >> 24); ip[13] = (byte)(src >> 16); ip[14] = (byte)(src >> 8); ip[15] = (byte)src;
        Buffer.MemoryCopy(q + 12, ip + 16, 4, 4);            // to the original sender
        ushort c = InetChecksum.Fold(InetChecksum.Sum(ip, HeaderSizes.Ipv4));
        ip[10] = (byte)(c >> 8); ip[11] = (byte)c;
        byte* icmp = ip + HeaderSizes.Ipv4;
        icmp[0] = 3; icmp[1] = 4; icmp[2] = icmp[3] = 0; icmp[4] = icmp[5] = 0;
        icmp[6] = (byte)(mtu >> 8); icmp[7] = (byte)mtu;
        c = InetChecksum.Fold(InetChecksum.Sum(icmp, HeaderSizes.Icmp + quote));
        icmp[2] = (byte)(c >> 8); icmp[3] = (byte)c;
        Finish(ref p, HeaderSizes.Ethernet + total, IpProtocols.Icmp, 3, 4, HeaderSizes.Ipv4);
    }

    private static void Reply6(ref PacketMeta p, OverlayState o, int mtu)
    {
        byte* orig = p.Data + p.L3Offset;
        int ipLen = HeaderSizes.Ipv6 + ((orig[4] << 8) | orig[5]);
        if (o.IcmpSource6 == UInt128.Zero) { p.Drop(DropReason.IpFragmentationNotSupported); return; }
        const int hdr = HeaderSizes.Ipv6 + HeaderSizes.Icmp;
        if (p.L3Offset != HeaderSizes.Ethernet || !p.Push(hdr)) { p.Drop(DropReason.ErrorWritingToPacket); return; }
        byte* d = p.Data;
        SwapMacs(d, d + hdr);
        d[12] = 0x86; d[13] = 0xDD;
        int quote = Math.Min(ipLen, MaxIcmp6 - hdr);
        byte* ip = d + HeaderSizes.Ethernet;
        byte* q = ip + hdr;
        int payload = HeaderSizes.Icmp + quote;
        ip[0] = 0x60; ip[1] = ip[2] = ip[3] = 0;
        ip[4] = (byte)(payload >> 8); ip[5] = (byte)payload; ip[6] = IpProtocols.Icmpv6; ip[7] = 64;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(ip + 8, 16), o.IcmpSource6);
        Buffer.MemoryCopy(q + 8, ip + 24, 16, 16);
        byte* icmp = ip + HeaderSizes.Ipv6;
        icmp[0] = 2; icmp[1] = 0; icmp[2] = icmp[3] = 0;
        icmp[4] = (byte)(mtu >> 24); icmp[5] = (byte)(mtu >> 16); icmp[6] = (byte)(mtu >> 8); icmp[7] = (byte)mtu;
        uint sum = InetChecksum.Sum(ip + 8, 32, (uint)payload + IpProtocols.Icmpv6);
        ushort c = InetChecksum.Fold(InetChecksum.Sum(icmp, payload, sum));
        icmp[2] = (byte)(c >> 8); icmp[3] = (byte)c;
        Finish(ref p, HeaderSizes.Ethernet + HeaderSizes.Ipv6 + payload, IpProtocols.Icmpv6, 2, 0, HeaderSizes.Ipv6);
    }

    /// <summary>Back to the sender: destination MAC = its source MAC, source = the MAC it addressed (ours).</summary>
    private static void SwapMacs(byte* dst, byte* origEth)
    {
        ulong to = Addr.ReadMac(origEth + 6), from = Addr.ReadMac(origEth);
        Addr.WriteMac(dst, to);
        Addr.WriteMac(dst + 6, from);
    }

    private static void Finish(ref PacketMeta p, int length, byte proto, byte type, byte code, int ipHeader)
    {
        p.Length = (ushort)length;
        p.L3Offset = HeaderSizes.Ethernet;
        p.L4Offset = (ushort)(HeaderSizes.Ethernet + ipHeader);
        p.PayloadOffset = (ushort)(p.L4Offset + HeaderSizes.Icmp);
        p.L4Proto = proto; p.IcmpType = type; p.IcmpCode = code;
        p.SrcPort = 0; p.DstPort = (ushort)((type << 8) | code);
        p.Flags = (p.Flags & ~PacketFlags.TunnelEncap) | PacketFlags.IcmpError;
        p.OutPort = p.InPort;
        p.DstEndpoint = p.SrcEndpoint;
        p.Verdict = PacketVerdict.Tx;
    }
}
