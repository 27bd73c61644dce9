using Dataplane.Dpdk.Interop;

namespace Dataplane.Dpdk.Ethdev;

/// <summary>
/// A packet-mbuf mempool (<c>rte_pktmbuf_pool_create</c>): <see cref="Count"/> buffers of
/// <see cref="DataRoom"/> bytes each, RTE_PKTMBUF_HEADROOM (128) of which are headroom in front of received data.
/// </summary>
public sealed unsafe class MbufPool : IDisposable
{
    /// <summary>RTE_MBUF_DEFAULT_BUF_SIZE: 2048 bytes of data after 128 of headroom.</summary>
    public const ushort DefaultDataRoom = 2048 + RteSizes.PktmbufHeadroom;

    private void* _mp;

    /// <summary><paramref name="name"/> is unique in the process, at most 26 characters (DPDK memzone names).</summary>
    public MbufPool(string name, uint count, ushort dataRoom = DefaultDataRoom, int socketId = RteSizes.SocketIdAny)
    {
        if (name.Length is 0 or > 26) throw new ArgumentException("mempool name must be 1–26 characters", nameof(name));
        if (count < 64) throw new ArgumentOutOfRangeException(nameof(count), "at least 64 mbufs");
        // The per-lcore cache may hold at most count / 1.5 (DPDK's flush threshold rule).
        uint cache = Math.Min(256u, count / 2);
        _mp = Rte.rte_pktmbuf_pool_create(name, count, cache, 0, dataRoom, socketId);
        if (_mp == null)
        {
            int err = Rte.Errno();
            throw new DpdkException($"DPDK: cannot create mbuf pool {name} ({count} mbufs of {dataRoom} B, ~{(long)count * (dataRoom + 192) >> 20} MiB): " +
                $"{Rte.StrError(err)} (rte_errno {err}). Give the EAL more memory (-m / --socket-mem, or reserve hugepages) or use fewer mbufs.");
        }
        Name = name;
        Count = count;
        DataRoom = dataRoom;
    }

    /// <summary>The mempool's name (unique in the process).</summary>
    public string Name { get; }
    /// <summary>How many mbufs the pool holds.</summary>
    public uint Count { get; }
    /// <summary>Bytes of data room per mbuf, headroom included.</summary>
    public ushort DataRoom { get; }
    internal void* Handle => _mp;

    /// <summary>Mbufs in the pool (including per-lcore caches), i.e. not held by a queue or the pipeline.</summary>
    public uint Available => Rte.rte_mempool_avail_count(_mp);

    /// <summary>Mbufs currently out of the pool (received and not yet freed or transmitted).</summary>
    public uint InUse => Rte.rte_mempool_in_use_count(_mp);

    /// <summary>Frees the pool; every port using it must be closed first.</summary>
    public void Dispose()
    {
        if (_mp != null) { Rte.rte_mempool_free(_mp); _mp = null; }
    }
}
