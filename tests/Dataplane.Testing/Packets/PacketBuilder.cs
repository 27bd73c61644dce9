using System.Buffers.Binary;
using System.Net;

namespace Dataplane.Testing.Packets;

/// <summary>
/// Builds test frames byte by byte (Ethernet, VLAN, ARP, IPv4, IPv6 + extension headers, TCP, UDP, ICMP,
/// ICMPv6, VXLAN). It has its own plain checksum so that tests do not check our code with our code.
/// </summary>
public static class PacketBuilder
{
    public const ulong DefaultSrcMac = 0x02_aa_00_00_00_01;
    public const ulong DefaultDstMac = 0x02_bb_00_00_00_01;

    public static byte[] Ethernet(ulong dst, ulong src, ushort etherType, byte[] payload, params ushort[] vlans)
    {
        var b = new byte[14 + 4 * vlans.Length + payload.Length];
        WriteMac(b.AsSpan(0), dst); WriteMac(b.AsSpan(6), src);
        int off = 12;
        for (int i = 0; i < vlans.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(off), i == 0 && vlans.Length > 1 ? (ushort)0x88A8 : (ushort)0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(off + 2), vlans[i]);
            off += 4;
        }
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(off), etherType);
        payload.CopyTo(b, off + 2);
        return b;
    }

    public static byte[] Ipv4(string src, string dst, byte proto, byte[] l4, byte ttl = 64, byte[]? options = null,
        ushort fragField = 0x4000, ushort id = 1)
    {
        int ihl = 20 + (options?.Length ?? 0);
        var b = new byte[ihl + l4.Length];
        b[0] = (byte)(0x40 | (ihl / 4));
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)b.Length);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), fragField);
        b[8] = ttl; b[9] = proto;
        IPAddress.Parse(src).TryWriteBytes(b.AsSpan(12), out _);
        IPAddress.Parse(dst).TryWriteBytes(b.AsSpan(16), out _);
        options?.CopyTo(b, 20);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(10), Checksum(b.AsSpan(0, ihl)));
        l4.CopyTo(b, ihl);
        if (proto is 6 or 17 && (fragField & 0x1FFF) == 0 && (fragField & 0x2000) == 0) FixL4Checksum4(b, ihl, proto);
        return b;
    }

    /// <summary>IPv6 with optional extension headers given as (nextHeaderTypeOfThisHeader, bytes without the first byte).</summary>
    public static byte[] Ipv6(string src, string dst, byte proto, byte[] l4, byte hopLimit = 64, params (byte Type, byte[] Body)[] ext)
    {
        int extLen = ext.Sum(e => 1 + e.Body.Length);
        var b = new byte[40 + extLen + l4.Length];
        b[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), (ushort)(extLen + l4.Length));
        b[6] = ext.Length > 0 ? ext[0].Type : proto;
        b[7] = hopLimit;
        IPAddress.Parse(src).TryWriteBytes(b.AsSpan(8), out _);
        IPAddress.Parse(dst).TryWriteBytes(b.AsSpan(24), out _);
        int off = 40;
        for (int i = 0; i < ext.Length; i++)
        {
            b[off] = i + 1 < ext.Length ? ext[i + 1].Type : proto;
            ext[i].Body.CopyTo(b, off + 1);
            off += 1 + ext[i].Body.Length;
        }
        l4.CopyTo(b, off);
        if (proto is 6 or 17 or 58) FixL4Checksum6(b, off, proto);
        return b;
    }

    /// <summary>An 8-byte-multiple options header body (hop-by-hop / destination options): PadN filled.</summary>
    public static (byte, byte[]) Options(byte type, int lengthUnits = 0)
    {
        var body = new byte[7 + 8 * lengthUnits];
        body[0] = (byte)lengthUnits;
        body[1] = 1; body[2] = (byte)(body.Length - 3); // PadN covering the rest
        return (type, body);
    }

    public static (byte, byte[]) Srh(byte segmentsLeft, params string[] segments)
    {
        var body = new byte[7 + 16 * segments.Length];
        body[0] = (byte)(2 * segments.Length); body[1] = 4; body[2] = segmentsLeft; body[3] = (byte)(segments.Length - 1);
        for (int i = 0; i < segments.Length; i++) IPAddress.Parse(segments[i]).TryWriteBytes(body.AsSpan(7 + 16 * i), out _);
        return (43, body);
    }

    public static (byte, byte[]) Fragment(ushort offsetUnits, bool more, uint id = 7)
    {
        var body = new byte[7];
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(1), (ushort)((offsetUnits << 3) | (more ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(3), id);
        return (44, body);
    }

    public static byte[] Tcp(ushort sport, ushort dport, byte flags = 0x02, int payload = 0, uint seq = 1000)
    {
        var b = new byte[20 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(0), sport);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), seq);
        b[12] = 5 << 4; b[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(14), 65535);
        for (int i = 0; i < payload; i++) b[20 + i] = (byte)i;
        return b;
    }

    public static byte[] Udp(ushort sport, ushort dport, byte[]? payload = null)
    {
        payload ??= [];
        var b = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(0), sport);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), (ushort)b.Length);
        payload.CopyTo(b, 8);
        return b;
    }

    public static byte[] Icmp(byte type, byte code, ushort id = 0x1234, ushort seq = 1, int payload = 8)
    {
        var b = new byte[8 + payload];
        b[0] = type; b[1] = code;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), seq);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), Checksum(b));
        return b;
    }

    /// <summary>ICMPv6 body (checksum filled by <see cref="Ipv6"/>).</summary>
    public static byte[] Icmp6(byte type, byte code, ushort id = 0x1234, ushort seq = 1, int payload = 8)
    {
        var b = new byte[8 + payload];
        b[0] = type; b[1] = code;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), seq);
        return b;
    }

    public static byte[] NeighborSolicitation(string target, ulong? sourceLinkAddr)
    {
        var b = new byte[24 + (sourceLinkAddr.HasValue ? 8 : 0)];
        b[0] = 135;
        IPAddress.Parse(target).TryWriteBytes(b.AsSpan(8), out _);
        if (sourceLinkAddr is ulong mac) { b[24] = 1; b[25] = 1; WriteMac(b.AsSpan(26), mac); }
        return b;
    }

    public static byte[] ArpRequest(ulong senderMac, string senderIp, string targetIp, ushort op = 1)
    {
        var b = new byte[28];
        b[1] = 1; b[2] = 8; b[4] = 6; b[5] = 4; b[7] = (byte)op;
        WriteMac(b.AsSpan(8), senderMac);
        IPAddress.Parse(senderIp).TryWriteBytes(b.AsSpan(14), out _);
        IPAddress.Parse(targetIp).TryWriteBytes(b.AsSpan(24), out _);
        return b;
    }

    public static byte[] Vxlan(uint vni, byte[] innerFrame, byte flags = 0x08)
    {
        var b = new byte[8 + innerFrame.Length];
        b[0] = flags;
        b[4] = (byte)(vni >> 16); b[5] = (byte)(vni >> 8); b[6] = (byte)vni;
        innerFrame.CopyTo(b, 8);
        return b;
    }

    public static byte[] Eth4(byte[] ipv4, ulong dst = DefaultDstMac, ulong src = DefaultSrcMac, params ushort[] vlans) =>
        Ethernet(dst, src, 0x0800, ipv4, vlans);

    public static byte[] Eth6(byte[] ipv6, ulong dst = DefaultDstMac, ulong src = DefaultSrcMac, params ushort[] vlans) =>
        Ethernet(dst, src, 0x86DD, ipv6, vlans);

    public static void WriteMac(Span<byte> b, ulong mac)
    {
        for (int i = 0; i < 6; i++) b[i] = (byte)(mac >> (40 - 8 * i));
    }

    public static ulong ReadMac(ReadOnlySpan<byte> b)
    {
        ulong m = 0;
        for (int i = 0; i < 6; i++) m = (m << 8) | b[i];
        return m;
    }

    /// <summary>Plain RFC 1071 reference (the tests' own, not the library's).</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data, uint initial = 0) => ReferenceChecksum.Checksum(data, initial);

    private static void FixL4Checksum4(byte[] ip, int ihl, byte proto)
    {
        int csumOff = ihl + (proto == 6 ? 16 : 6);
        ip[csumOff] = ip[csumOff + 1] = 0;
        uint pseudo = 0;
        for (int i = 12; i < 20; i += 2) pseudo += (uint)(ip[i] << 8 | ip[i + 1]);
        pseudo += proto + (uint)(ip.Length - ihl);
        ushort c = Checksum(ip.AsSpan(ihl), pseudo);
        if (proto == 17 && c == 0) c = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(csumOff), c);
    }

    private static void FixL4Checksum6(byte[] ip, int l4, byte proto)
    {
        int csumOff = l4 + (proto == 6 ? 16 : proto == 17 ? 6 : 2);
        ip[csumOff] = ip[csumOff + 1] = 0;
        uint pseudo = 0;
        for (int i = 8; i < 40; i += 2) pseudo += (uint)(ip[i] << 8 | ip[i + 1]);
        pseudo += proto + (uint)(ip.Length - l4);
        ushort c = Checksum(ip.AsSpan(l4), pseudo);
        if (proto == 17 && c == 0) c = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(csumOff), c);
    }
}
