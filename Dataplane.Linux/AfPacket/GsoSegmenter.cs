using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Dataplane.Core.Checksums;
using Dataplane.Core.Packets;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux.AfPacket;

/// <summary>
/// Software segmentation of the GSO super-frames AF_PACKET hands over when the sending device has TSO/USO on
/// (veths by default): one TCP segment or UDP_SEGMENT datagram of up to 64 KiB becomes the wire-sized frames
/// the sender's NIC would have sent, each with complete IP and transport checksums, as the kernel's
/// tcp_gso_segment / __udp_gso_segment would build them. The segments live in an arena owned by the port and
/// reused after every burst (the frames are transmitted, by copy, before the port's Release).
/// </summary>
internal sealed unsafe class GsoSegmenter : IDisposable
{
    /// <summary>Room left in front of every segment for encapsulation (VXLAN, SRv6), as the ring's reserve.</summary>
    public const int Headroom = 128;
    private const int Align = 64;
    private const byte TcpFin = 0x01, TcpPsh = 0x08, TcpCwr = 0x80;

    private byte* _arena;
    private readonly int _size;
    private int _used;

    public GsoSegmenter(int arenaBytes = 1 << 20)
    {
        _size = arenaBytes;
        _arena = (byte*)NativeMemory.AlignedAlloc((nuint)arenaBytes, 4096);
    }

    /// <summary>What a super-frame needs, or why it cannot be segmented.</summary>
    public readonly record struct Plan(int Segments, int HeaderLength, int L3, int L4, bool Ipv4, bool Udp, int Mss, int SlotBytes);

    /// <summary>
    /// Works out the segments of the super-frame at <paramref name="frame"/>; false when the frame is not one we
    /// can segment (UFO, no transport header where the header says, non-IP, a segment size of 0).
    /// </summary>
    public static bool TryPlan(byte* frame, int length, in virtio_net_hdr vh, out Plan plan)
    {
        plan = default;
        byte kind = (byte)(vh.gso_type & ~virtio_net_hdr.VIRTIO_NET_HDR_GSO_ECN);
        bool udp = kind == virtio_net_hdr.VIRTIO_NET_HDR_GSO_UDP_L4;
        if (kind is not (virtio_net_hdr.VIRTIO_NET_HDR_GSO_TCPV4 or virtio_net_hdr.VIRTIO_NET_HDR_GSO_TCPV6) && !udp) return false;
        if ((vh.flags & virtio_net_hdr.VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0 || vh.gso_size == 0) return false;
        int l3 = 14;
        ushort type = (ushort)((frame[12] << 8) | frame[13]);
        if (type is 0x8100 or 0x88A8) { type = (ushort)((frame[16] << 8) | frame[17]); l3 = 18; }
        bool v4 = type == 0x0800;
        if (!v4 && type != 0x86DD) return false;
        int l4 = vh.csum_start;
        if (l4 < l3 + (v4 ? 20 : 40) || l4 + 20 > length) return false;
        int l4Header = udp ? 8 : (frame[l4 + 12] >> 4) * 4;
        if (l4Header < 8 || l4 + l4Header > length) return false;
        int header = l4 + l4Header, payload = length - header;
        if (payload <= 0) return false;
        int mss = vh.gso_size;
        int segments = (payload + mss - 1) / mss;
        int slot = (Headroom + header + mss + Align - 1) & ~(Align - 1);
        plan = new Plan(segments, header, l3, l4, v4, udp, mss, slot);
        return true;
    }

    /// <summary>Whether the arena can hold <paramref name="plan"/> now, and whether it could ever (when empty).</summary>
    public bool Fits(in Plan plan) => (long)plan.Segments * plan.SlotBytes <= _size - _used;

    public bool FitsEver(in Plan plan) => (long)plan.Segments * plan.SlotBytes <= _size;

    /// <summary>Writes the segments into the arena and appends one descriptor per segment at <paramref name="metas"/>.</summary>
    public void Segment(byte* frame, int length, in Plan plan, PacketMeta* metas, ushort inPort, long timestamp)
    {
        int header = plan.HeaderLength, l3 = plan.L3, mss = plan.Mss;
        int payload = length - header;
        int l4 = plan.L4;
        for (int i = 0; i < plan.Segments; i++)
        {
            int chunk = Math.Min(mss, payload - i * mss);
            byte* slot = _arena + _used;
            _used += plan.SlotBytes;
            byte* p = slot + Headroom;
            Buffer.MemoryCopy(frame, p, header, header);
            Buffer.MemoryCopy(frame + header + (long)i * mss, p + header, chunk, chunk);
            int segLength = header + chunk;
            byte* ip = p + l3;
            int l4Length = segLength - l4;
            uint pseudo;
            byte proto;
            if (plan.Ipv4)
            {
                int ihl = (ip[0] & 0xF) * 4;
                Write16(ip + 2, (ushort)(segLength - l3));
                Write16(ip + 4, (ushort)(Read16(frame + l3 + 4) + i));
                Write16(ip + 10, 0);
                Write16(ip + 10, InetChecksum.Fold(InetChecksum.Sum(ip, ihl)));
                proto = ip[9];
                pseudo = InetChecksum.PseudoHeaderV4(BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(ip + 12, 4)),
                    BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(ip + 16, 4)), proto, (ushort)l4Length);
            }
            else
            {
                Write16(ip + 4, (ushort)(segLength - l3 - 40));
                proto = plan.Udp ? (byte)17 : (byte)6;
                pseudo = InetChecksum.PseudoHeaderV6(new ReadOnlySpan<byte>(ip + 8, 16), new ReadOnlySpan<byte>(ip + 24, 16), proto, (uint)l4Length);
            }
            byte* t = p + l4;
            int field;
            if (plan.Udp)
            {
                Write16(t + 4, (ushort)l4Length);
                field = 6;
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(t + 4, 4),
                    BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(frame + l4 + 4, 4)) + (uint)(i * mss));
                // FIN and PSH belong to the last segment, CWR to the first (as tcp_gso_segment leaves them).
                if (i != plan.Segments - 1) t[13] &= unchecked((byte)~(TcpFin | TcpPsh));
                if (i != 0) t[13] &= unchecked((byte)~TcpCwr);
                field = 16;
            }
            Write16(t + field, 0);
            ushort sum = InetChecksum.Fold(InetChecksum.Sum(t, l4Length, pseudo));
            Write16(t + field, plan.Udp && sum == 0 ? (ushort)0xFFFF : sum);

            ref PacketMeta m = ref metas[i];
            m.Data = p;
            m.BufferHandle = (ulong)(slot - _arena);
            m.Length = (ushort)segLength;
            m.Headroom = Headroom;
            m.Capacity = (ushort)Math.Min(plan.SlotBytes - Headroom, ushort.MaxValue);
            m.Timestamp = timestamp;
            m.ResetForRx(inPort);
        }
    }

    /// <summary>After the burst's frames have been transmitted: the arena is free again.</summary>
    public void Reset() => _used = 0;

    private static ushort Read16(byte* p) => (ushort)((p[0] << 8) | p[1]);

    private static void Write16(byte* p, ushort v) { p[0] = (byte)(v >> 8); p[1] = (byte)v; }

    public void Dispose()
    {
        if (_arena != null) { NativeMemory.AlignedFree(_arena); _arena = null; }
    }
}
