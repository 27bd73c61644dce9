using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Dataplane.Core.Checksums;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Overlay;

/// <summary>
/// Writes the outer headers in front of a routed packet (Ethernet + inner IP, VLAN tags already removed) from
/// a peer's pre-built template: VXLAN keeps the inner Ethernet header (rewritten to the peer's VXLAN MAC), SRv6
/// replaces it (L3 encapsulation). The packet's L3/L4 offsets keep describing the inner packet so flow records
/// show the pod addresses. Returns false with the packet dropped when there is no headroom.
/// </summary>
public static unsafe class Encapsulation
{
    /// <summary>RFC 7348 §5: a source port from the inner flow hash, in the dynamic range, so underlay ECMP spreads flows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort SourcePort(uint flowHash) => (ushort)(49152 | (flowHash & 0x3FFF));

    public static bool Vxlan(ref PacketMeta p, in TunnelPeer t, uint vni, int innerL3)
    {
        byte[] template = t.VxlanTemplate!;
        int hdr = template.Length;
        int innerFrame = HeaderSizes.Ethernet + innerL3;
        p.Length = (ushort)innerFrame;                       // drop any Ethernet padding of the inner frame
        Unsafe.WriteUnaligned(p.Data, t.InnerEthWord0);
        Unsafe.WriteUnaligned(p.Data + 8, t.InnerEthWord1);
        int pushed = HeaderSizes.Ethernet + hdr;
        if (!p.Push(pushed)) { p.Drop(DropReason.ErrorWritingToPacket); return false; }
        byte* d = p.Data;
        WriteEthernet(d, t.EthWord0, t.EthWord1, t.OuterIpv6 ? EtherTypes.Ipv6 : EtherTypes.Ipv4);
        byte* ip = d + HeaderSizes.Ethernet;
        Unsafe.CopyBlockUnaligned(ref *ip, ref MemoryMarshal.GetArrayDataReference(template), (uint)hdr);
        int udpLen = HeaderSizes.Udp + HeaderSizes.Vxlan + innerFrame;
        byte* udp;
        if (!t.OuterIpv6)
        {
            int total = HeaderSizes.Ipv4 + udpLen;
            ip[2] = (byte)(total >> 8); ip[3] = (byte)total;
            ushort c = InetChecksum.Fold(t.PseudoSum + (uint)total);   // the template's header sum + the length
            ip[10] = (byte)(c >> 8); ip[11] = (byte)c;
            udp = ip + HeaderSizes.Ipv4;
        }
        else
        {
            ip[1] = (byte)((p.FlowHash >> 16) & 0x0F); ip[2] = (byte)(p.FlowHash >> 8); ip[3] = (byte)p.FlowHash;
            ip[4] = (byte)(udpLen >> 8); ip[5] = (byte)udpLen;
            udp = ip + HeaderSizes.Ipv6;
        }
        ushort sport = SourcePort(p.FlowHash);
        udp[0] = (byte)(sport >> 8); udp[1] = (byte)sport;
        udp[4] = (byte)(udpLen >> 8); udp[5] = (byte)udpLen;
        udp[12] = (byte)(vni >> 16); udp[13] = (byte)(vni >> 8); udp[14] = (byte)vni;
        if (t.OuterIpv6)
        {
            // IPv6 UDP needs a real checksum (RFC 8200 §8.1; Linux drops zero-checksum VXLAN over IPv6 by default).
            ushort c = InetChecksum.Fold(InetChecksum.Sum(udp, udpLen, t.PseudoSum + (uint)udpLen));
            if (c == 0) c = 0xFFFF;
            udp[6] = (byte)(c >> 8); udp[7] = (byte)c;
        }
        Shift(ref p, pushed);
        p.OutPort = t.Port;
        return true;
    }

    public static bool Srv6(ref PacketMeta p, in TunnelPeer t, byte[] template, int innerL3)
    {
        int hdr = template.Length;
        p.Length = (ushort)(HeaderSizes.Ethernet + innerL3);
        // The inner Ethernet header's 14 bytes become the outer one: only the IPv6 + SRH bytes are pushed.
        if (!p.Push(hdr)) { p.Drop(DropReason.ErrorWritingToPacket); return false; }
        byte* d = p.Data;
        WriteEthernet(d, t.EthWord0, t.EthWord1, EtherTypes.Ipv6);
        byte* ip = d + HeaderSizes.Ethernet;
        Unsafe.CopyBlockUnaligned(ref *ip, ref MemoryMarshal.GetArrayDataReference(template), (uint)hdr);
        int payload = hdr - HeaderSizes.Ipv6 + innerL3;
        ip[1] = (byte)((p.FlowHash >> 16) & 0x0F); ip[2] = (byte)(p.FlowHash >> 8); ip[3] = (byte)p.FlowHash;
        ip[4] = (byte)(payload >> 8); ip[5] = (byte)payload;
        Shift(ref p, hdr);
        p.OutPort = t.Port;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteEthernet(byte* d, ulong word0, uint word1, ushort etherType)
    {
        Unsafe.WriteUnaligned(d, word0);
        Unsafe.WriteUnaligned(d + 8, word1);
        d[12] = (byte)(etherType >> 8); d[13] = (byte)etherType;
    }

    /// <summary>Keeps the parse offsets on the inner packet after <paramref name="bytes"/> were pushed in front.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Shift(ref PacketMeta p, int bytes)
    {
        p.L3Offset += (ushort)bytes;
        p.L4Offset += (ushort)bytes;
        p.PayloadOffset += (ushort)bytes;
    }
}
