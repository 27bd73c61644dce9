using System.Buffers.Binary;
using Dataplane.Core.Checksums;
using Dataplane.Core.Overlay;
using Dataplane.WireGuard.Transport;

namespace Dataplane.Host.Encryption;

/// <summary>
/// The outer headers of WireGuard on an underlay link, read and written in place: Ethernet + IPv4/IPv6 + UDP.
/// No allocation; no VLAN tags and no IPv6 extension headers (the underlay links carry neither).
/// </summary>
internal static unsafe class UnderlayFrame
{
    public const int Eth = 14, Udp = 8, Ip4 = 20, Ip6 = 40;
    public const ushort EtherIpv4 = 0x0800, EtherIpv6 = 0x86DD;

    /// <summary>
    /// If the frame is a UDP datagram to <paramref name="port"/> at one of <paramref name="local"/>'s addresses,
    /// the offset and length of its payload and its source; else false. Fragments are not matched.
    /// </summary>
    public static bool TryWireGuard(byte* f, int length, ushort port, UInt128[] local, out int payload, out int payloadLength, out WgEndpoint source)
    {
        payload = payloadLength = 0;
        source = default;
        if (length < Eth + Ip4 + Udp) return false;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(f + 12, 2));
        byte* ip = f + Eth;
        int udp;
        UInt128 dst, src;
        if (type == EtherIpv4)
        {
            int ihl = (ip[0] & 0x0F) * 4;
            if (ip[0] >> 4 != 4 || ihl < Ip4 || ip[9] != 17 || (BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(ip + 6, 2)) & 0x3FFF) != 0) return false;
            udp = Eth + ihl;
            dst = AddressIndex.V4(BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(ip + 16, 4)));
            src = AddressIndex.V4(BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(ip + 12, 4)));
        }
        else if (type == EtherIpv6)
        {
            if (length < Eth + Ip6 + Udp || ip[0] >> 4 != 6 || ip[6] != 17) return false;
            udp = Eth + Ip6;
            dst = BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(ip + 24, 16));
            src = BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(ip + 8, 16));
        }
        else return false;
        if (udp + Udp > length || BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(f + udp + 2, 2)) != port) return false;
        if (Array.IndexOf(local, dst) < 0) return false;
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(f + udp + 4, 2));
        if (udpLength < Udp || udp + udpLength > length) return false;
        payload = udp + Udp;
        payloadLength = udpLength - Udp;
        source = new WgEndpoint(src, BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(f + udp, 2)));
        return true;
    }

    /// <summary>The destination address of an IPv4/IPv6 frame (IPv4 as a mapped key); false for anything else.</summary>
    public static bool TryDestination(byte* f, int length, out UInt128 dst)
    {
        dst = 0;
        if (length < Eth + Ip4) return false;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(f + 12, 2));
        if (type == EtherIpv4) { dst = AddressIndex.V4(BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(f + Eth + 16, 4))); return true; }
        if (type == EtherIpv6 && length >= Eth + Ip6) { dst = BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(f + Eth + 24, 16)); return true; }
        return false;
    }

    public static ulong Mac(byte* p) => ((ulong)BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(p, 2)) << 32) | BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(p + 2, 4));

    public static void WriteMac(byte* p, ulong mac)
    {
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(p, 2), (ushort)(mac >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(p + 2, 4), (uint)mac);
    }

    /// <summary>Header bytes in front of a UDP payload for an endpoint of this family.</summary>
    public static int HeaderSize(in WgEndpoint to) => Eth + (to.IsIpv4 ? Ip4 : Ip6) + Udp;

    /// <summary>
    /// Writes Ethernet + IP + UDP in the <see cref="HeaderSize"/> bytes before <paramref name="payload"/>
    /// (<paramref name="payloadLength"/> bytes) from <paramref name="from"/> (an address of the same family) to
    /// <paramref name="to"/>. Returns where the frame starts.
    /// </summary>
    public static byte* Write(byte* payload, int payloadLength, UInt128 from, ushort fromPort, in WgEndpoint to, ulong dstMac, ulong srcMac)
    {
        bool v4 = to.IsIpv4;
        int ipLen = v4 ? Ip4 : Ip6;
        byte* udp = payload - Udp;
        byte* ip = udp - ipLen;
        byte* f = ip - Eth;
        WriteMac(f, dstMac);
        WriteMac(f + 6, srcMac);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(f + 12, 2), v4 ? EtherIpv4 : EtherIpv6);
        int udpLength = Udp + payloadLength;
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp, 2), fromPort);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp + 2, 2), to.Port);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp + 4, 2), (ushort)udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp + 6, 2), 0);
        if (v4)
        {
            var h = new Span<byte>(ip, Ip4);
            h.Clear();
            h[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)(Ip4 + udpLength));
            h[8] = 64;
            h[9] = 17;
            BinaryPrimitives.WriteUInt32BigEndian(h[12..], (uint)from);
            BinaryPrimitives.WriteUInt32BigEndian(h[16..], (uint)to.Address);
            BinaryPrimitives.WriteUInt16BigEndian(h[10..], InetChecksum.Ipv4Header(h));
            // UDP checksum 0 over IPv4 (RFC 768): the AEAD tag already authenticates every byte that matters.
        }
        else
        {
            var h = new Span<byte>(ip, Ip6);
            BinaryPrimitives.WriteUInt32BigEndian(h, 0x6000_0000);
            BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)udpLength);
            h[6] = 17;
            h[7] = 64;
            BinaryPrimitives.WriteUInt128BigEndian(h[8..], from);
            BinaryPrimitives.WriteUInt128BigEndian(h[24..], to.Address);
            // IPv6 forbids a zero UDP checksum.
            BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp + 6, 2), InetChecksum.L4V6(h, new ReadOnlySpan<byte>(udp, udpLength), 17));
        }
        return f;
    }
}
