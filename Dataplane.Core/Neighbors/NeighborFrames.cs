using System.Buffers.Binary;
using Dataplane.Core.Checksums;

namespace Dataplane.Core.Neighbors;

/// <summary>
/// The frames a router sends to resolve and announce: ARP requests (RFC 826; broadcast, or unicast to the known MAC
/// when probing), gratuitous ARP (RFC 5227 announcement: sender = target = our address), IPv6 neighbour
/// solicitations (RFC 4861 §7.2.2: to the solicited-node multicast group, or unicast when probing, with our
/// link-layer address option) and unsolicited neighbour advertisements (§7.2.6: to all-nodes, override set).
/// Control side: each call returns a new array.
/// </summary>
public static class NeighborFrames
{
    public const ulong Broadcast = 0xFFFF_FFFF_FFFFUL;

    /// <summary>ARP request for <paramref name="target"/> from (<paramref name="mac"/>, <paramref name="source"/>);
    /// to <paramref name="dstMac"/> (broadcast, or the neighbour's MAC for a unicast probe).</summary>
    public static byte[] ArpRequest(ulong mac, uint source, uint target, ulong dstMac = Broadcast)
    {
        var f = new byte[42];
        WriteMac(f, 0, dstMac);
        WriteMac(f, 6, mac);
        f[12] = 0x08; f[13] = 0x06;
        f[14] = 0; f[15] = 1; f[16] = 0x08; f[17] = 0; f[18] = 6; f[19] = 4;   // Ethernet, IPv4
        f[20] = 0; f[21] = 1;                                                  // request
        WriteMac(f, 22, mac);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(28), source);
        BinaryPrimitives.WriteUInt32BigEndian(f.AsSpan(38), target);           // target MAC stays zero
        return f;
    }

    /// <summary>Gratuitous ARP announcing that <paramref name="address"/> is at <paramref name="mac"/>.</summary>
    public static byte[] GratuitousArp(ulong mac, uint address) => ArpRequest(mac, address, address);

    /// <summary>The solicited-node multicast address of <paramref name="target"/> (ff02::1:ffXX:XXXX).</summary>
    public static UInt128 SolicitedNode(UInt128 target) => ((UInt128)0xff02 << 112) | ((UInt128)1 << 32) | (0xff00_0000u | (uint)(target & 0xFF_FFFF));

    /// <summary>The link-local address a MAC gives by modified EUI-64 (RFC 4291 appendix A).</summary>
    public static UInt128 LinkLocal(ulong mac)
    {
        ulong iid = ((mac >> 24) << 40) | (0xFFFEUL << 24) | (mac & 0xFF_FFFF);
        iid ^= 0x0200_0000_0000_0000UL;
        return ((UInt128)0xfe80 << 112) | iid;
    }

    /// <summary>Neighbour solicitation for <paramref name="target"/> from <paramref name="source"/>, multicast to its
    /// solicited-node group, or unicast to (<paramref name="target"/>, <paramref name="dstMac"/>) when probing.</summary>
    public static byte[] NeighborSolicitation(ulong mac, UInt128 source, UInt128 target, ulong dstMac = 0)
    {
        bool unicast = dstMac != 0;
        UInt128 dstIp = unicast ? target : SolicitedNode(target);
        ulong dst = unicast ? dstMac : 0x3333_0000_0000UL | (ulong)(uint)dstIp;
        var f = Icmpv6(mac, dst, source, dstIp, 32);
        var icmp = f.AsSpan(54);
        icmp[0] = 135;
        BinaryPrimitives.WriteUInt128BigEndian(icmp[8..], target);
        icmp[24] = 1; icmp[25] = 1; WriteMac(f, 54 + 26, mac);                   // source link-layer address
        Checksum(f);
        return f;
    }

    /// <summary>Unsolicited neighbour advertisement of <paramref name="address"/> at <paramref name="mac"/> to all nodes
    /// (override set, so neighbours that know the address update it).</summary>
    public static byte[] UnsolicitedAdvertisement(ulong mac, UInt128 address)
    {
        UInt128 allNodes = ((UInt128)0xff02 << 112) | 1;
        var f = Icmpv6(mac, 0x3333_0000_0001UL, address, allNodes, 32);
        var icmp = f.AsSpan(54);
        icmp[0] = 136;
        icmp[4] = 0x20;                                                         // Override
        BinaryPrimitives.WriteUInt128BigEndian(icmp[8..], address);
        icmp[24] = 2; icmp[25] = 1; WriteMac(f, 54 + 26, mac);                   // target link-layer address
        Checksum(f);
        return f;
    }

    private static byte[] Icmpv6(ulong srcMac, ulong dstMac, UInt128 src, UInt128 dst, int icmpLength)
    {
        var f = new byte[54 + icmpLength];
        WriteMac(f, 0, dstMac);
        WriteMac(f, 6, srcMac);
        f[12] = 0x86; f[13] = 0xDD;
        f[14] = 0x60;
        f[18] = (byte)(icmpLength >> 8); f[19] = (byte)icmpLength;
        f[20] = 58; f[21] = 255;                                                // ICMPv6, hop limit 255 (RFC 4861)
        BinaryPrimitives.WriteUInt128BigEndian(f.AsSpan(22), src);
        BinaryPrimitives.WriteUInt128BigEndian(f.AsSpan(38), dst);
        return f;
    }

    private static void Checksum(byte[] f)
    {
        ushort sum = InetChecksum.L4V6(f.AsSpan(14, 40), f.AsSpan(54), 58);
        f[56] = (byte)(sum >> 8); f[57] = (byte)sum;
    }

    internal static void WriteMac(Span<byte> f, int at, ulong mac)
    {
        for (int i = 0; i < 6; i++) f[at + i] = (byte)(mac >> (40 - 8 * i));
    }
}
