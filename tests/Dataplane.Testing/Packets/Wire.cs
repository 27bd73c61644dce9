using System.Buffers.Binary;
using System.Net;

namespace Dataplane.Testing.Packets;

/// <summary>
/// An output frame read back independently of the dataplane's parser: addresses, ports (ICMP: the echo
/// identifier as both), and whether the IPv4 header and L4 checksums verify when recomputed from scratch.
/// </summary>
public sealed record Wire(string Src, string Dst, ushort SrcPort, ushort DstPort, byte Proto, bool ChecksumsOk, ulong DstMac)
{
    public static Wire Read(byte[] frame)
    {
        var f = frame.AsSpan();
        ulong dstMac = PacketBuilder.ReadMac(f);
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(f[12..]);
        var ip = f[14..];
        bool v4 = type == 0x0800;
        int l4Off; byte proto; string src, dst; bool ok = true;
        Span<byte> pseudo = stackalloc byte[40];
        int pseudoLen;
        int l4Len;
        if (v4)
        {
            int ihl = (ip[0] & 15) * 4;
            ok &= ReferenceChecksum.Checksum(ip[..ihl]) == 0;
            proto = ip[9];
            src = new IPAddress(ip.Slice(12, 4)).ToString();
            dst = new IPAddress(ip.Slice(16, 4)).ToString();
            l4Off = ihl;
            l4Len = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]) - ihl;
            ip.Slice(12, 8).CopyTo(pseudo);
            pseudo[9] = proto;
            BinaryPrimitives.WriteUInt16BigEndian(pseudo[10..], (ushort)l4Len);
            pseudoLen = 12;
        }
        else
        {
            proto = ip[6];
            src = new IPAddress(ip.Slice(8, 16)).ToString();
            dst = new IPAddress(ip.Slice(24, 16)).ToString();
            l4Off = 40;
            l4Len = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
            ip.Slice(8, 32).CopyTo(pseudo);
            pseudoLen = 40;
        }
        var l4 = ip.Slice(l4Off, l4Len);
        ushort sport, dport;
        if (proto is 1 or 58) { sport = dport = BinaryPrimitives.ReadUInt16BigEndian(l4[4..]); }
        else { sport = BinaryPrimitives.ReadUInt16BigEndian(l4); dport = BinaryPrimitives.ReadUInt16BigEndian(l4[2..]); }
        bool udpNoSum = proto == 17 && v4 && BinaryPrimitives.ReadUInt16BigEndian(l4[6..]) == 0;
        if (!udpNoSum)
        {
            byte[] buf;
            if (proto == 1) buf = l4.ToArray();
            else
            {
                var ps = pseudo[..pseudoLen].ToArray();
                if (!v4)
                {
                    var tail = new byte[8];
                    BinaryPrimitives.WriteUInt32BigEndian(tail, (uint)l4Len);
                    tail[7] = proto;
                    ps = [.. ps, .. tail];
                }
                buf = [.. ps, .. l4.ToArray()];
            }
            ok &= ReferenceChecksum.Checksum(buf) == 0;
        }
        return new Wire(src, dst, sport, dport, proto, ok, dstMac);
    }
}
