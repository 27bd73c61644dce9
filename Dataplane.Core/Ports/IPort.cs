using Dataplane.Core.Packets;

namespace Dataplane.Core.Ports;

/// <summary>
/// One queue of one interface, as a backend sees it: receive a burst of packets into a <see cref="Batch"/> over
/// buffers the backend owns, transmit a burst, give buffers back. Every call is per batch, never per packet;
/// implementations allocate nothing on these paths. A port is used by a single worker thread.
/// </summary>
/// <remarks>
/// Buffer ownership: a received buffer belongs to its receiving port until <see cref="Release"/>. A zero-copy
/// transmit that keeps a buffer it did not receive (AF_XDP over a shared UMEM) sets the descriptor's
/// <see cref="PacketMeta.BufferHandle"/> to <see cref="PortBuffers.Taken"/>; the receiving port then skips it.
/// A copying transmit (AF_PACKET) leaves the handle alone and the buffer goes back on release.
/// </remarks>
public interface IPort : IDisposable
{
    /// <summary>Port number in packet metadata (<see cref="PacketMeta.InPort"/>/<see cref="PacketMeta.OutPort"/>).</summary>
    ushort Id { get; }

    /// <summary>Interface name (and queue, when not 0).</summary>
    string Name { get; }

    PortStats Stats { get; }

    /// <summary>
    /// Appends up to <c>batch.Capacity - batch.Count</c> received packets at <c>batch.Count</c>, filling Data,
    /// BufferHandle, Length, Headroom, Capacity, Timestamp and InPort (everything else reset), and advances
    /// <c>batch.Count</c>. Returns how many were appended; 0 when nothing is waiting.
    /// </summary>
    int RxBurst(Batch batch);

    /// <summary>
    /// Transmits the packets of <paramref name="batch"/> at <paramref name="indices"/> (Verdict Tx, OutPort = this
    /// port). What cannot be queued is counted in <see cref="PortStats.TxDropped"/>. Returns how many were queued.
    /// </summary>
    int TxBurst(Batch batch, ReadOnlySpan<ushort> indices);

    /// <summary>Gives back the buffers of the packets this port received at [start, start + count) of the batch.</summary>
    void Release(Batch batch, int start, int count);

    /// <summary>Once per worker iteration: reclaim completed transmissions and wake the kernel if it needs it.</summary>
    void Flush();
}

/// <summary>Sentinels for <see cref="PacketMeta.BufferHandle"/>.</summary>
public static class PortBuffers
{
    /// <summary>The buffer was handed to a transmit queue (zero copy); its receiving port must not free it.</summary>
    public const ulong Taken = ulong.MaxValue;

    /// <summary>
    /// Handles below this are indices into an in-memory <see cref="Packets.PacketPool"/> (frames the neighbour
    /// resolver sends), never a backend's buffer address: Linux maps nothing below vm.mmap_min_addr (64 KiB). A
    /// port whose handles are pointers (DPDK's rte_mbuf*) copies such a frame into a buffer of its own.
    /// </summary>
    public const ulong FirstAddress = 1 << 16;
}

/// <summary>Per-port counters, written by the port's worker only; readers tolerate stale values.</summary>
public sealed class PortStats
{
    public ulong RxPackets;
    public ulong RxBytes;
    public ulong TxPackets;
    public ulong TxBytes;
    /// <summary>Packets the pipeline sent here that the backend could not queue (ring full, link down).</summary>
    public ulong TxDropped;
    /// <summary>Frames the backend saw but did not deliver (truncated, own outgoing).</summary>
    public ulong RxSkipped;
    /// <summary>Drops the kernel reports for this port (ring overrun), when the backend can read them.</summary>
    public ulong KernelDrops;
    /// <summary>Received frames whose partial transport checksum (sender's checksum offload) was completed.</summary>
    public ulong RxChecksumsCompleted;
    /// <summary>Received GSO super-frames cut into wire-sized segments.</summary>
    public ulong RxGsoSegmented;
    /// <summary>Received frames with offload state the port cannot complete (e.g. UFO, bad offsets): not forwarded.</summary>
    public ulong RxOffloadRefused;
}
