using Dataplane.Core.Checksums;
using Dataplane.Core.Packets;
using Dataplane.Core.Ports;
using Dataplane.Linux.Interop;
using static Dataplane.Linux.Interop.IfXdp;

namespace Dataplane.Linux.AfXdp;

/// <summary>Options of an AF_XDP port.</summary>
public sealed record AfXdpOptions
{
    /// <summary>Entries of each of the four rings (a power of two).</summary>
    public int RingSize { get; init; } = 2048;
    public XdpAttachMode AttachMode { get; init; } = XdpAttachMode.Auto;
    /// <summary>Try XDP_ZEROCOPY first (falls back to XDP_COPY when the driver cannot).</summary>
    public bool TryZeroCopy { get; init; } = true;
    public uint Queue { get; init; }
}

/// <summary>
/// An AF_XDP port: one socket on one queue, its rx/tx rings and its own fill/completion rings over a UMEM shared
/// with the worker's other ports. Received frames are used in place; transmitting a frame of the same UMEM posts
/// its address to the tx ring (zero copy: the frame comes back through the completion ring); frames from
/// elsewhere are copied into a free chunk. Bound with XDP_USE_NEED_WAKEUP: the kernel is only kicked when it asks.
/// </summary>
public sealed unsafe class AfXdpPort : IPort
{
    private struct Ring
    {
        public uint* Producer;
        public uint* Consumer;
        public uint* Flags;
        public byte* Desc;
        public uint Mask;
        public uint Size;
        public void* Map;
        public nuint MapSize;
    }

    /// <summary>Wake-ups per flush: enough for a full batch at the copy-mode batch of 32.</summary>
    private const int MaxKicks = Batch.MaxSize / 32 + 1;

    private readonly XdpUmem _umem;
    private int _fd = -1;
    private Ring _rx, _tx, _fill, _comp;
    private XdpProgram? _program;
    private readonly bool _ownsProgram;

    /// <summary>
    /// Opens the socket for <paramref name="ifName"/>'s queue. <paramref name="program"/> is the interface's XDP
    /// program when several queues share it (the caller owns it); without one the port loads and owns its own.
    /// </summary>
    public AfXdpPort(ushort id, string ifName, XdpUmem umem, AfXdpOptions? options = null, XdpProgram? program = null)
    {
        var o = options ?? new AfXdpOptions();
        Id = id; Name = ifName; _umem = umem; Queue = o.Queue;
        IfIndex = NetDevice.IndexOf(ifName);
        if (IfIndex == 0) throw new LinuxException($"if_nametoindex({ifName})", Errno.ENXIO);
        try
        {
            _ownsProgram = program is null;
            _program = program ?? new XdpProgram(IfIndex, o.AttachMode);
            AttachMode = _program.Mode;
            _fd = OpenSocket(o, out bool zeroCopy);
            ZeroCopy = zeroCopy;
            _program.Register(Queue, _fd);
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
    public uint Queue { get; }
    public int Fd => _fd;
    public bool ZeroCopy { get; }
    public XdpAttachMode AttachMode { get; }
    public PortStats Stats { get; } = new();

    public string Describe() =>
        $"af_xdp queue {Queue}, {(ZeroCopy ? "zero-copy" : "copy")} mode, XDP {(AttachMode == XdpAttachMode.Native ? "native" : "generic")}, shared UMEM, need-wakeup";

    private int OpenSocket(AfXdpOptions o, out bool zeroCopy)
    {
        // A socket joining a shared UMEM may not pass mode flags: it inherits the owner's copy/zero-copy/need-wakeup.
        if (_umem.OwnerFd >= 0)
        {
            int shared = TryOpen(o, 0, out int errShared);
            if (shared < 0) throw new LinuxException($"bind(AF_XDP shared UMEM, {Name}, queue {Queue})", errShared);
            zeroCopy = _umem.ZeroCopy;
            return shared;
        }
        // A failed zero-copy bind leaves the socket unusable on some kernels: retry copy mode on a fresh socket.
        if (o.TryZeroCopy)
        {
            int fd = TryOpen(o, XDP_ZEROCOPY, out int err);
            if (fd >= 0) { zeroCopy = _umem.ZeroCopy = true; return fd; }
        }
        int fd2 = TryOpen(o, XDP_COPY, out int err2);
        if (fd2 < 0) throw new LinuxException($"bind(AF_XDP, {Name}, queue {Queue})", err2);
        zeroCopy = false;
        return fd2;
    }

    private int TryOpen(AfXdpOptions o, ushort mode, out int err)
    {
        int fd = LibC.socket(LibC.AF_XDP, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
        Errno.Check(fd, "socket(AF_XDP)");
        bool owner = _umem.OwnerFd < 0;
        try
        {
            if (owner)
            {
                xdp_umem_reg reg = default;
                reg.addr = (ulong)_umem.Area;
                reg.len = _umem.Size;
                reg.chunk_size = (uint)_umem.FrameSize;
                Errno.Check(LibC.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg, (uint)sizeof(xdp_umem_reg)), "setsockopt(XDP_UMEM_REG)");
            }
            int n = o.RingSize;
            Errno.Check(LibC.SetInt(fd, SOL_XDP, XDP_UMEM_FILL_RING, n), "setsockopt(XDP_UMEM_FILL_RING)");
            Errno.Check(LibC.SetInt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, n), "setsockopt(XDP_UMEM_COMPLETION_RING)");
            Errno.Check(LibC.SetInt(fd, SOL_XDP, XDP_RX_RING, n), "setsockopt(XDP_RX_RING)");
            Errno.Check(LibC.SetInt(fd, SOL_XDP, XDP_TX_RING, n), "setsockopt(XDP_TX_RING)");
            xdp_mmap_offsets off = default;
            uint len = (uint)sizeof(xdp_mmap_offsets);
            Errno.Check(LibC.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len), "getsockopt(XDP_MMAP_OFFSETS)");
            UnmapRings();
            _rx = MapRing(fd, off.rx, (uint)n, (uint)sizeof(xdp_desc), XDP_PGOFF_RX_RING);
            _tx = MapRing(fd, off.tx, (uint)n, (uint)sizeof(xdp_desc), XDP_PGOFF_TX_RING);
            _fill = MapRing(fd, off.fr, (uint)n, sizeof(ulong), XDP_UMEM_PGOFF_FILL_RING);
            _comp = MapRing(fd, off.cr, (uint)n, sizeof(ulong), XDP_UMEM_PGOFF_COMPLETION_RING);
            Refill();

            sockaddr_xdp sa = default;
            sa.sxdp_family = LibC.AF_XDP;
            sa.sxdp_ifindex = (uint)IfIndex;
            sa.sxdp_queue_id = Queue;
            sa.sxdp_flags = owner ? (ushort)(mode | XDP_USE_NEED_WAKEUP) : XDP_SHARED_UMEM;
            if (!owner) sa.sxdp_shared_umem_fd = (uint)_umem.OwnerFd;
            if (LibC.bind(fd, &sa, (uint)sizeof(sockaddr_xdp)) != 0)
            {
                err = Errno.Last;
                ReclaimFill();
                UnmapRings();
                LibC.close(fd);
                return -1;
            }
            if (owner) _umem.OwnerFd = fd;
            err = 0;
            return fd;
        }
        catch
        {
            ReclaimFill();
            UnmapRings();
            LibC.close(fd);
            throw;
        }
    }

    private static Ring MapRing(int fd, in xdp_ring_offset off, uint entries, uint entrySize, long pgoff)
    {
        nuint size = (nuint)(off.desc + entries * entrySize);
        void* p = LibC.mmap(null, size, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_POPULATE, fd, pgoff);
        if (p == LibC.MAP_FAILED) throw Errno.Error($"mmap(AF_XDP ring 0x{pgoff:x})");
        byte* b = (byte*)p;
        return new Ring
        {
            Producer = (uint*)(b + off.producer), Consumer = (uint*)(b + off.consumer), Flags = (uint*)(b + off.flags),
            Desc = b + off.desc, Mask = entries - 1, Size = entries, Map = p, MapSize = size,
        };
    }

    private void UnmapRings()
    {
        foreach (ref Ring r in new Span<Ring>([_rx, _tx, _fill, _comp]))
            if (r.Map != null) LibC.munmap(r.Map, r.MapSize);
        _rx = _tx = _fill = _comp = default;
    }

    /// <summary>Frames we placed in the fill ring but the kernel never took (before a failed bind).</summary>
    private void ReclaimFill()
    {
        if (_fill.Map == null) return;
        uint prod = *_fill.Producer, cons = Volatile.Read(ref *_fill.Consumer);
        for (uint i = cons; i != prod; i++) _umem.Free(((ulong*)_fill.Desc)[i & _fill.Mask]);
        *_fill.Producer = cons;
    }

    public int RxBurst(Batch batch)
    {
        uint cons = *_rx.Consumer;
        uint avail = Volatile.Read(ref *_rx.Producer) - cons;
        int room = batch.Capacity - batch.Count;
        int n = (int)Math.Min(avail, (uint)room);
        if (n == 0) return 0;
        PacketMeta* metas = batch.Meta + batch.Count;
        byte* area = _umem.Area;
        ulong mask = _umem.ChunkMask;
        int frame = _umem.FrameSize;
        long now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        ulong bytes = 0;
        xdp_desc* ring = (xdp_desc*)_rx.Desc;
        for (int i = 0; i < n; i++)
        {
            xdp_desc* d = ring + ((cons + (uint)i) & _rx.Mask);
            ulong addr = d->addr;
            ulong chunk = addr & mask;
            int offset = (int)(addr - chunk);
            ref PacketMeta m = ref metas[i];
            m.Data = area + addr;
            m.BufferHandle = chunk;
            m.Length = (ushort)d->len;
            m.Headroom = (ushort)offset;
            m.Capacity = (ushort)(frame - offset);
            m.Timestamp = now;
            m.ResetForRx(Id);
            // XDP carries no CHECKSUM_PARTIAL mark: a sum the sender left to offload is recognised and completed.
            if (PartialChecksum.TryCompleteGuessed(m.Data, m.Length)) Stats.RxChecksumsCompleted++;
            bytes += d->len;
        }
        Volatile.Write(ref *_rx.Consumer, cons + (uint)n);
        batch.Count += n;
        Stats.RxPackets += (ulong)n;
        Stats.RxBytes += bytes;
        return n;
    }

    public int TxBurst(Batch batch, ReadOnlySpan<ushort> indices)
    {
        uint prod = *_tx.Producer;
        uint space = _tx.Size - (prod - Volatile.Read(ref *_tx.Consumer));
        int total = indices.Length, queued = 0;
        PacketMeta* metas = batch.Meta;
        byte* area = _umem.Area;
        xdp_desc* ring = (xdp_desc*)_tx.Desc;
        ulong bytes = 0;
        for (int k = 0; k < total && (uint)queued < space; k++)
        {
            ref PacketMeta m = ref metas[indices[k]];
            ulong addr;
            if (_umem.Contains(m.Data) && m.BufferHandle != PortBuffers.Taken)
            {
                // Zero copy: the frame itself goes out; it returns through our completion ring.
                addr = (ulong)(m.Data - area);
                m.BufferHandle = PortBuffers.Taken;
            }
            else
            {
                if (m.Length > _umem.FrameSize - XDP_PACKET_HEADROOM || !_umem.TryAlloc(out ulong chunk)) continue;
                addr = chunk + XDP_PACKET_HEADROOM;
                Buffer.MemoryCopy(m.Data, area + addr, m.Length, m.Length);
            }
            xdp_desc* d = ring + ((prod + (uint)queued) & _tx.Mask);
            d->addr = addr;
            d->len = m.Length;
            d->options = 0;
            bytes += m.Length;
            queued++;
        }
        if (queued != 0) Volatile.Write(ref *_tx.Producer, prod + (uint)queued);
        Stats.TxPackets += (ulong)queued;
        Stats.TxBytes += bytes;
        Stats.TxDropped += (ulong)(total - queued);
        return queued;
    }

    public void Release(Batch batch, int start, int count)
    {
        PacketMeta* m = batch.Meta;
        for (int i = start; i < start + count; i++)
            if (m[i].BufferHandle != PortBuffers.Taken) _umem.Free(m[i].BufferHandle);
    }

    public void Flush()
    {
        // Transmitted frames come back to the shared pool …
        uint cc = *_comp.Consumer;
        uint done = Volatile.Read(ref *_comp.Producer) - cc;
        if (done != 0)
        {
            ulong* cr = (ulong*)_comp.Desc;
            for (uint i = 0; i < done; i++) _umem.Free(cr[(cc + i) & _comp.Mask]);
            Volatile.Write(ref *_comp.Consumer, cc + done);
        }
        // … the fill ring is topped up from it …
        bool filled = Refill();
        // … and the kernel is kicked only when it asks (need-wakeup) and has work. In copy mode one kick sends at
        // most 32 frames (the kernel's generic xmit batch), so kick until the ring drains, a bounded number of times.
        for (int kick = 0; kick < MaxKicks; kick++)
        {
            uint pending = *_tx.Producer - Volatile.Read(ref *_tx.Consumer);
            if (pending == 0 || (Volatile.Read(ref *_tx.Flags) & XDP_RING_NEED_WAKEUP) == 0) break;
            if (LibC.sendto(_fd, null, 0, LibC.MSG_DONTWAIT, null, 0) < 0 && Errno.Last != Errno.EAGAIN) break;
        }
        if (filled && (Volatile.Read(ref *_fill.Flags) & XDP_RING_NEED_WAKEUP) != 0 && ZeroCopy)
            LibC.recvfrom(_fd, null, 0, LibC.MSG_DONTWAIT, null, null);
    }

    private bool Refill()
    {
        uint prod = *_fill.Producer;
        uint space = _fill.Size - (prod - Volatile.Read(ref *_fill.Consumer));
        uint n = Math.Min(space, (uint)_umem.Available);
        if (n == 0) return false;
        ulong* fr = (ulong*)_fill.Desc;
        for (uint i = 0; i < n; i++)
        {
            _umem.TryAlloc(out ulong chunk);
            fr[(prod + i) & _fill.Mask] = chunk;
        }
        Volatile.Write(ref *_fill.Producer, prod + n);
        return true;
    }

    /// <summary>Adds the kernel's drop counters (rx dropped, rx ring full, fill ring empty) to <see cref="PortStats.KernelDrops"/>.</summary>
    public void PollKernelStats()
    {
        xdp_statistics st = default;
        uint len = (uint)sizeof(xdp_statistics);
        if (_fd >= 0 && LibC.getsockopt(_fd, SOL_XDP, XDP_STATISTICS, &st, &len) == 0)
            Stats.KernelDrops = st.rx_dropped + st.rx_ring_full;
    }

    public void Dispose()
    {
        if (_ownsProgram) _program?.Dispose();
        _program = null;
        UnmapRings();
        if (_fd >= 0)
        {
            LibC.close(_fd);
            if (_umem.OwnerFd == _fd) _umem.OwnerFd = -2; // registered owner gone: no new sharer may join
            _fd = -1;
        }
        GC.SuppressFinalize(this);
    }
}
