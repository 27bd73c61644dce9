using System.Runtime.InteropServices;
using Dataplane.Core.Checksums;
using Dataplane.Core.Packets;
using Dataplane.Core.Ports;
using Dataplane.Linux.Interop;
using static Dataplane.Linux.Interop.IfPacket;

namespace Dataplane.Linux.AfPacket;

/// <summary>
/// An AF_PACKET port: TPACKET_V3 mmap'd receive ring (packets are used in place, blocks go back to the kernel
/// once every packet of the block has been released), transmit with one sendmmsg per burst straight from the
/// packets' buffers (the kernel copies; we do not). Frames the host itself sent are ignored.
/// </summary>
/// <remarks>
/// Offloads: with PACKET_VNET_HDR the kernel tells, per frame, what a sender with checksum or segmentation
/// offload left undone (a veth or NIC at its default settings). A partial checksum (CHECKSUM_PARTIAL,
/// csum_start/csum_offset) is completed in place; a GSO super-frame (TSO/USO, up to 64 KiB) is cut into
/// wire-sized segments by <see cref="GsoSegmenter"/>; what cannot be handled (UFO, bad offsets) is counted in
/// <see cref="PortStats.RxOffloadRefused"/> and not forwarded. Devices' offload settings are never touched.
/// </remarks>
public sealed unsafe class AfPacketPort : IPort
{
    private const int MaxBurst = Batch.MaxSize;

    // The socket and its mapped ring; the port reads them through these copies on the hot path.
    private readonly AfPacketSocket? _socket;
    private int _fd = -1;
    private byte* _ring;
    private readonly int _blockSize;
    private readonly int _blockCount;

    // Receive cursor: the block being walked, its next packet, packets left in it.
    private int _block;
    private bool _inBlock;
    private byte* _pkt;
    private uint _left;
    // Blocks fully handed out in the current burst: returned to the kernel on Release.
    private readonly int[] _done;
    private int _doneCount;

    private readonly mmsghdr* _msgs;
    private readonly iovec* _iov;
    private readonly int _iovPerMsg;
    private readonly virtio_net_hdr* _zeroVnet;

    // PACKET_VNET_HDR: frames come with the kernel's offload state (partial sums completed, GSO segmented here).
    private readonly bool _vnet;
    private readonly int _frameOffset;
    private readonly GsoSegmenter? _segmenter;

    /// <param name="id">The port's number in the snapshot.</param>
    /// <param name="ifName">The interface to bind to.</param>
    /// <param name="options">Ring sizes and switches (default: <see cref="AfPacketOptions"/>'s).</param>
    /// <param name="pool">Where a socket with its ring may already be waiting (null: made here, synchronously).</param>
    public AfPacketPort(ushort id, string ifName, AfPacketOptions? options = null, AfPacketSocketPool? pool = null)
    {
        var o = options ?? new AfPacketOptions();
        Id = id;
        Name = ifName;
        IfIndex = NetDevice.IndexOf(ifName);
        if (IfIndex == 0) throw new LinuxException($"if_nametoindex({ifName})", Errno.ENXIO);
        _blockSize = o.BlockSize;
        _blockCount = o.BlockCount;
        _done = new int[_blockCount];
        try
        {
            _socket = pool?.Take(o) ?? AfPacketSocket.Create(o);
            _fd = _socket.Fd;
            _ring = _socket.Ring;
            _vnet = _socket.VnetHeader;
            QdiscBypass = _socket.QdiscBypass;
            _frameOffset = Tpacket3HdrLen + (_vnet ? sizeof(virtio_net_hdr) : 0);
            if (_vnet) _segmenter = new GsoSegmenter();

            sockaddr_ll sll = default;
            sll.sll_family = LibC.AF_PACKET;
            sll.sll_protocol = Htons(ETH_P_ALL);
            sll.sll_ifindex = IfIndex;
            Errno.Check(LibC.bind(_fd, &sll, (uint)sizeof(sockaddr_ll)), $"bind(AF_PACKET, {ifName})");

            if (o.FanoutGroup != 0)
                Errno.Check(LibC.SetInt(_fd, SOL_PACKET, PACKET_FANOUT, o.FanoutGroup | ((PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16)),
                    "setsockopt(PACKET_FANOUT)");
            if (o.Promiscuous)
            {
                packet_mreq mr = default;
                mr.mr_ifindex = IfIndex;
                mr.mr_type = PACKET_MR_PROMISC;
                Errno.Check(LibC.setsockopt(_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, (uint)sizeof(packet_mreq)), "setsockopt(PACKET_ADD_MEMBERSHIP)");
            }

            // With PACKET_VNET_HDR every frame sent starts with a virtio_net_hdr too: ours is all zero (a complete
            // frame, no offload asked), one shared header in front of each frame's own iovec.
            _iovPerMsg = _vnet ? 2 : 1;
            _msgs = (mmsghdr*)NativeMemory.AllocZeroed(MaxBurst, (nuint)sizeof(mmsghdr));
            _iov = (iovec*)NativeMemory.AllocZeroed((nuint)(MaxBurst * _iovPerMsg), (nuint)sizeof(iovec));
            _zeroVnet = (virtio_net_hdr*)NativeMemory.AllocZeroed((nuint)sizeof(virtio_net_hdr));
            for (int i = 0; i < MaxBurst; i++)
            {
                _msgs[i].msg_hdr.msg_iov = &_iov[i * _iovPerMsg];
                _msgs[i].msg_hdr.msg_iovlen = (nuint)_iovPerMsg;
                if (_vnet)
                {
                    _iov[i * 2].iov_base = _zeroVnet;
                    _iov[i * 2].iov_len = (nuint)sizeof(virtio_net_hdr);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public ushort Id { get; }
    public string Name { get; }
    public int IfIndex { get; }
    public int Fd => _fd;
    public bool QdiscBypass { get; }
    /// <summary>Whether the kernel hands frames with their offload state (PACKET_VNET_HDR).</summary>
    public bool VnetHeader => _vnet;
    public PortStats Stats { get; } = new();

    private byte* BlockAt(int b) => _ring + (nint)b * _blockSize;

    public int RxBurst(Batch batch)
    {
        int n = batch.Count, cap = batch.Capacity, start = n;
        PacketMeta* metas = batch.Meta;
        ulong bytes = 0;
        while (n < cap)
        {
            if (!_inBlock)
            {
                byte* bd = BlockAt(_block);
                uint status = Volatile.Read(ref *(uint*)(bd + BD_block_status));
                if ((status & TP_STATUS_USER) == 0) break;
                if (_doneCount == _blockCount) break; // every block awaits release
                _left = *(uint*)(bd + BD_num_pkts);
                _pkt = bd + *(uint*)(bd + BD_offset_to_first_pkt);
                if (_left == 0)
                {
                    _done[_doneCount++] = _block;
                    if (++_block == _blockCount) _block = 0;
                    continue;
                }
                _inBlock = true;
                continue;
            }
            byte* h = _pkt;
            byte* bdStart = BlockAt(_block);
            uint next = *(uint*)(h + H3_next_offset);
            uint snap = *(uint*)(h + H3_snaplen);
            int mac = *(ushort*)(h + H3_mac);
            bool skip = h[H3_sll_pkttype] == PACKET_OUTGOING || snap != *(uint*)(h + H3_len);
            GsoSegmenter.Plan plan = default;
            bool gso = false;
            if (!skip && _vnet)
            {
                // The kernel wrote the skb's offload state just in front of the frame.
                ref virtio_net_hdr vh = ref *(virtio_net_hdr*)(h + mac - sizeof(virtio_net_hdr));
                if (vh.gso_type != virtio_net_hdr.VIRTIO_NET_HDR_GSO_NONE)
                {
                    gso = GsoSegmenter.TryPlan(h + mac, (int)snap, vh, out plan) && plan.Segments <= cap && _segmenter!.FitsEver(plan);
                    if (!gso) { Stats.RxOffloadRefused++; skip = true; }
                    // Not room for every segment in this burst: leave the frame for the next one.
                    else if (plan.Segments > cap - n || !_segmenter!.Fits(plan)) break;
                }
                else if ((vh.flags & virtio_net_hdr.VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0)
                {
                    if (PartialChecksum.Complete(h + mac, (int)snap, vh.csum_start, vh.csum_offset)) Stats.RxChecksumsCompleted++;
                    else { Stats.RxOffloadRefused++; skip = true; }
                }
            }
            if (!gso && snap > ushort.MaxValue) skip = true;
            _pkt = h + next;
            if (--_left == 0)
            {
                // Last packet of the block handed out: the block goes back at this burst's Release.
                _done[_doneCount++] = _block;
                _inBlock = false;
                if (++_block == _blockCount) _block = 0;
            }
            if (skip)
            {
                Stats.RxSkipped++;
                continue;
            }
            long timestamp = *(uint*)(h + H3_sec) * 1_000_000_000L + *(uint*)(h + H3_nsec);
            if (gso)
            {
                _segmenter!.Segment(h + mac, (int)snap, plan, metas + n, Id, timestamp);
                n += plan.Segments;
                Stats.RxGsoSegmented++;
                bytes += snap;
                continue;
            }
            long room = next != 0 ? next - mac : _blockSize - (h - bdStart) - mac;
            ref PacketMeta m = ref metas[n++];
            m.Data = h + mac;
            m.BufferHandle = (ulong)(h - _ring);
            m.Length = (ushort)snap;
            m.Headroom = (ushort)Math.Max(0, mac - _frameOffset);
            m.Capacity = (ushort)Math.Min(room, ushort.MaxValue);
            m.Timestamp = timestamp;
            m.ResetForRx(Id);
            bytes += snap;
        }
        int got = n - start;
        batch.Count = n;
        Stats.RxPackets += (ulong)got;
        Stats.RxBytes += bytes;
        return got;
    }

    public int TxBurst(Batch batch, ReadOnlySpan<ushort> indices)
    {
        int total = indices.Length, queued = 0;
        PacketMeta* metas = batch.Meta;
        ulong bytes = 0;
        for (int k = 0; k < total; k++)
        {
            ref PacketMeta m = ref metas[indices[k]];
            iovec* v = _iov + k * _iovPerMsg + (_iovPerMsg - 1);
            v->iov_base = m.Data;
            v->iov_len = m.Length;
            bytes += m.Length;
        }
        int at = 0;
        while (at < total)
        {
            int rc = LibC.sendmmsg(_fd, _msgs + at, (uint)(total - at), LibC.MSG_DONTWAIT);
            if (rc > 0) { at += rc; queued += rc; continue; }
            int err = Errno.Last;
            if (err == Errno.EINTR) continue;
            // Queue full, or the link is down: the rest are dropped (one syscall, not one per packet).
            if (err is Errno.EAGAIN or Errno.ENOBUFS or Errno.ENETDOWN or Errno.ENXIO) break;
            at++; // this packet is refused (link down, too long): skip it
        }
        Stats.TxPackets += (ulong)queued;
        Stats.TxBytes += queued == total ? bytes : 0;
        Stats.TxDropped += (ulong)(total - queued);
        return queued;
    }

    /// <summary>Returns every block whose packets have all been handed out (called every iteration, even with no packets).</summary>
    public void Release(Batch batch, int start, int count)
    {
        _segmenter?.Reset();
        for (int i = 0; i < _doneCount; i++)
            Volatile.Write(ref *(uint*)(BlockAt(_done[i]) + BD_block_status), TP_STATUS_KERNEL);
        _doneCount = 0;
    }

    public void Flush() { }

    /// <summary>Reads (and resets) the kernel's counters for this socket; adds its drops to <see cref="PortStats.KernelDrops"/>.</summary>
    public void PollKernelStats()
    {
        tpacket_stats_v3 st = default;
        uint len = (uint)sizeof(tpacket_stats_v3);
        if (LibC.getsockopt(_fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) Stats.KernelDrops += st.tp_drops;
    }

    public void Dispose()
    {
        _socket?.Dispose();
        _ring = null;
        _fd = -1;
        if (_msgs != null) NativeMemory.Free(_msgs);
        if (_iov != null) NativeMemory.Free(_iov);
        if (_zeroVnet != null) NativeMemory.Free(_zeroVnet);
        _segmenter?.Dispose();
        GC.SuppressFinalize(this);
    }
}
