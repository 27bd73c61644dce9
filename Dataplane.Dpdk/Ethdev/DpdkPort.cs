using System.Runtime.InteropServices;
using Dataplane.Core.Checksums;
using Dataplane.Core.Packets;
using Dataplane.Core.Ports;
using Dataplane.Dpdk.Interop;

namespace Dataplane.Dpdk.Ethdev;

/// <summary>
/// One queue of a DPDK ethdev as an <see cref="IPort"/>. Receive fills the batch with the mbufs' own memory
/// (Data = buf_addr + data_off, BufferHandle = the rte_mbuf pointer, Headroom = data_off so encapsulation pushes
/// into the mbuf's headroom); the pipeline works on it in place. Transmit writes the (possibly pushed or pulled)
/// extent back into the mbuf and hands it to the driver: what the driver took is marked
/// <see cref="PortBuffers.Taken"/> (the driver frees it after sending), what it refused stays with the receiving
/// port, which frees it on <see cref="Release"/> with everything else not transmitted. Both bursts call the
/// driver's function from <c>rte_eth_fp_ops</c> directly through <c>delegate* unmanaged</c> — exactly what the
/// header's inline rte_eth_rx_burst/rte_eth_tx_burst do (no Rx/Tx callbacks are installed) — so there is one
/// managed-to-native transition per burst, none per packet. A packet received by a DpdkPort of this process (its
/// BufferHandle is an rte_mbuf*) is sent zero copy; a frame of another owner (an ARP request or a packet released by
/// the neighbour resolver, <see cref="PortBuffers.FirstAddress"/>) is copied into an mbuf of the device's pool,
/// allocated with the exported rte_pktmbuf_copy (rte_pktmbuf_alloc is inline in DPDK's headers), and stays with its owner.
/// </summary>
public sealed unsafe class DpdkPort : IPort
{
    private readonly delegate* unmanaged<void*, rte_mbuf**, ushort, ushort> _rx;
    private readonly delegate* unmanaged<void*, rte_mbuf**, ushort, ushort> _tx;
    private readonly void* _rxq;
    private readonly void* _txq;
    private rte_mbuf** _scratch;
    /// <summary>Per mbuf of a transmit burst with copies in it: the batch index it came from.</summary>
    private ushort* _from;
    /// <summary>A blank mbuf header rte_pktmbuf_copy takes its header fields from (zeroed; pkt_len 1, the least it accepts).</summary>
    private rte_mbuf* _template;
    private readonly void* _pool;

    /// <summary>Queue <paramref name="queue"/> of a started device; <paramref name="id"/> is the port number in packet metadata (the config's port id, not the DPDK port id).</summary>
    public DpdkPort(ushort id, EthDev device, ushort queue = 0, string? name = null)
    {
        if (queue >= device.Queues) throw new ArgumentOutOfRangeException(nameof(queue), $"{device.Name} has {device.Queues} queue(s)");
        Id = id;
        Device = device;
        Queue = queue;
        Name = name ?? (queue == 0 ? device.Name : $"{device.Name}/{queue}");
        rte_eth_fp_ops* ops = device.FastPathOps;
        _rx = (delegate* unmanaged<void*, rte_mbuf**, ushort, ushort>)ops->rx_pkt_burst;
        _tx = (delegate* unmanaged<void*, rte_mbuf**, ushort, ushort>)ops->tx_pkt_burst;
        _rxq = ops->rxq_data[queue];
        _txq = ops->txq_data[queue];
        _scratch = (rte_mbuf**)NativeMemory.AlignedAlloc((nuint)(Batch.MaxSize * sizeof(rte_mbuf*)), 64);
        _from = (ushort*)NativeMemory.Alloc(Batch.MaxSize, sizeof(ushort));
        _template = (rte_mbuf*)NativeMemory.AlignedAlloc(rte_mbuf.Size, 64);
        NativeMemory.Clear(_template, rte_mbuf.Size);
        _template->refcnt = 1;
        _template->nb_segs = 1;
        _template->pkt_len = 1;
        _pool = device.Pool.Handle;
    }

    /// <summary>The port number packets carry in their metadata (the config's, not DPDK's).</summary>
    public ushort Id { get; }
    /// <summary>The interface name this queue serves (device name, with /queue beyond queue 0, when none was given).</summary>
    public string Name { get; }
    /// <summary>The device whose queue this is.</summary>
    public EthDev Device { get; }
    /// <summary>The rx/tx queue pair of <see cref="Device"/> this port polls.</summary>
    public ushort Queue { get; }
    /// <summary>Packets and bytes received and transmitted through this queue, and transmits the driver refused.</summary>
    public PortStats Stats { get; } = new();

    /// <summary>Appends up to the batch's free room from the driver in one burst (the packets stay in their mbufs); returns how many were appended (a chained mbuf is not).</summary>
    public int RxBurst(Batch batch)
    {
        int start = batch.Count, room = batch.Capacity - start;
        if (room <= 0) return 0;
        rte_mbuf** mbufs = _scratch;
        int got = _rx(_rxq, mbufs, (ushort)room);
        if (got == 0) return 0;
        long now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
        PacketMeta* metas = batch.Meta;
        int n = start, skipped = 0;
        ulong bytes = 0;
        for (int i = 0; i < got; i++)
        {
            rte_mbuf* m = mbufs[i];
            // The pipeline sees one contiguous buffer: a chained (jumbo) mbuf is not forwarded.
            if (m->nb_segs != 1)
            {
                mbufs[skipped++] = m;
                continue;
            }
            ref PacketMeta p = ref metas[n++];
            p.Data = m->buf_addr + m->data_off;
            p.BufferHandle = (ulong)m;
            p.Length = m->data_len;
            p.Headroom = m->data_off;
            p.Capacity = (ushort)(m->buf_len - m->data_off);
            p.Timestamp = now;
            p.ResetForRx(Id);
            // PMDs over veths/taps (af_packet, af_xdp) do not pass the kernel's CHECKSUM_PARTIAL mark on: a sum the
            // sender left to offload is recognised and completed.
            if (PartialChecksum.TryCompleteGuessed(p.Data, p.Length)) Stats.RxChecksumsCompleted++;
            bytes += m->data_len;
        }
        if (skipped != 0)
        {
            Rte.rte_pktmbuf_free_bulk(mbufs, (uint)skipped);
            Stats.RxSkipped += (ulong)skipped;
        }
        int delivered = n - start;
        batch.Count = n;
        Stats.RxPackets += (ulong)delivered;
        Stats.RxBytes += bytes;
        return delivered;
    }

    /// <summary>Transmits the indexed packets in one driver burst; returns how many the driver took.</summary>
    public int TxBurst(Batch batch, ReadOnlySpan<ushort> indices)
    {
        int total = indices.Length;
        if (total == 0) return 0;
        PacketMeta* metas = batch.Meta;
        rte_mbuf** mbufs = _scratch;
        ulong bytes = 0;
        int n = 0, foreign = 0;
        for (int k = 0; k < total; k++)
        {
            ref PacketMeta p = ref metas[indices[k]];
            rte_mbuf* m;
            if (p.BufferHandle >= PortBuffers.FirstAddress)
            {
                m = (rte_mbuf*)p.BufferHandle;
                // The pipeline may have pushed (encap) or pulled (decap) headers: the mbuf takes the packet's extent.
                m->data_off = (ushort)(p.Data - m->buf_addr);
            }
            else
            {
                foreign++;
                m = CopyIn(ref p);
                if (m == null) { Stats.TxDropped++; continue; }
            }
            _from[n] = indices[k];
            m->data_len = p.Length;
            m->pkt_len = p.Length;
            m->ol_flags = 0;
            mbufs[n++] = m;
            bytes += p.Length;
        }
        int sent = n == 0 ? 0 : _tx(_txq, mbufs, (ushort)n);
        if (foreign == 0)
        {
            // The common case: every mbuf was received here; what the driver took is no longer ours to free.
            for (int k = 0; k < sent; k++) metas[indices[k]].BufferHandle = PortBuffers.Taken;
            for (int k = sent; k < n; k++) bytes -= metas[indices[k]].Length;
        }
        else SettleCopies(metas, sent, n, ref bytes);
        Stats.TxDropped += (ulong)(n - sent);
        Stats.TxPackets += (ulong)sent;
        Stats.TxBytes += bytes;
        return sent;
    }

    /// <summary>
    /// A burst with frames of other owners in it (mbufs no longer line up with the indices once a copy failed):
    /// received mbufs the driver took are marked taken; copies it refused are freed here (their source frames stay
    /// with their owner either way).
    /// </summary>
    private void SettleCopies(PacketMeta* metas, int sent, int n, ref ulong bytes)
    {
        for (int j = 0; j < n; j++)
        {
            ref PacketMeta p = ref metas[_from[j]];
            bool own = p.BufferHandle >= PortBuffers.FirstAddress;
            if (j < sent)
            {
                if (own) p.BufferHandle = PortBuffers.Taken;
                continue;
            }
            bytes -= p.Length;
            if (!own) Rte.rte_pktmbuf_free_bulk(_scratch + j, 1);
        }
    }

    /// <summary>A new mbuf from the device's pool holding a copy of <paramref name="p"/>'s frame; null when the pool is empty or it does not fit.</summary>
    private rte_mbuf* CopyIn(ref PacketMeta p)
    {
        rte_mbuf* m = Rte.rte_pktmbuf_copy(_template, _pool, 0, 0);
        if (m == null) return null;
        if (p.Length > m->buf_len - m->data_off)
        {
            Rte.rte_pktmbuf_free_bulk(&m, 1);
            return null;
        }
        Buffer.MemoryCopy(p.Data, m->buf_addr + m->data_off, p.Length, p.Length);
        m->next = null;
        m->nb_segs = 1;
        return m;
    }

    /// <summary>Frees every mbuf this port received at [start, start + count) that no transmit took, in one call.</summary>
    public void Release(Batch batch, int start, int count)
    {
        if (count == 0) return;
        PacketMeta* metas = batch.Meta;
        rte_mbuf** mbufs = _scratch;
        int n = 0;
        for (int i = start; i < start + count; i++)
        {
            ulong h = metas[i].BufferHandle;
            if (h != PortBuffers.Taken) mbufs[n++] = (rte_mbuf*)h;
        }
        if (n != 0) Rte.rte_pktmbuf_free_bulk(mbufs, (uint)n);
    }

    /// <summary>Nothing to do: the drivers reclaim completed transmissions inside tx_burst.</summary>
    public void Flush() { }

    /// <summary>Frees the scratch array; the device (shared by its queues) is closed by its owner.</summary>
    public void Dispose()
    {
        if (_scratch != null) { NativeMemory.AlignedFree(_scratch); _scratch = null; }
        if (_from != null) { NativeMemory.Free(_from); _from = null; }
        if (_template != null) { NativeMemory.AlignedFree(_template); _template = null; }
    }
}
