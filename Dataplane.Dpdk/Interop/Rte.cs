using System.Runtime.InteropServices;

namespace Dataplane.Dpdk.Interop;

/// <summary>The exported (non-inline) DPDK 22.11 functions the backend calls, all on the setup/slow path.</summary>
internal static unsafe partial class Rte
{
    // ---- EAL ----
    [LibraryImport(RteLibs.Eal)] public static partial int rte_eal_init(int argc, byte** argv);
    [LibraryImport(RteLibs.Eal)] public static partial int rte_eal_cleanup();
    [LibraryImport(RteLibs.Eal)] public static partial byte* rte_strerror(int errnum);
    [LibraryImport(RteLibs.Eal)] public static partial int rte_openlog_stream(void* file);
    [LibraryImport(RteLibs.Eal)] public static partial byte* rte_eal_get_runtime_dir();
    /// <summary>Makes the calling (non-EAL) thread an lcore: per-lcore mempool caches then work for it.</summary>
    [LibraryImport(RteLibs.Eal)] public static partial int rte_thread_register();
    [LibraryImport(RteLibs.Eal)] public static partial void rte_thread_unregister();

    // ---- mempool / mbuf ----
    [LibraryImport(RteLibs.Mbuf, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void* rte_pktmbuf_pool_create(string name, uint n, uint cacheSize, ushort privSize, ushort dataRoomSize, int socketId);
    [LibraryImport(RteLibs.Mempool)] public static partial void rte_mempool_free(void* mp);
    [LibraryImport(RteLibs.Mempool)] public static partial uint rte_mempool_avail_count(void* mp);
    [LibraryImport(RteLibs.Mempool)] public static partial uint rte_mempool_in_use_count(void* mp);
    /// <summary>Frees a burst of (single- or multi-segment) mbufs in one call.</summary>
    [LibraryImport(RteLibs.Mbuf)] public static partial void rte_pktmbuf_free_bulk(rte_mbuf** mbufs, uint count);
    /// <summary>Exported (unlike the inline rte_pktmbuf_alloc): with length 0 it is an allocation from <paramref name="mp"/>
    /// whose header fields come from <paramref name="m"/>.</summary>
    [LibraryImport(RteLibs.Mbuf)] public static partial rte_mbuf* rte_pktmbuf_copy(rte_mbuf* m, void* mp, uint offset, uint length);

    // ---- ethdev ----
    [LibraryImport(RteLibs.EthDev)] public static partial ushort rte_eth_dev_count_avail();
    [LibraryImport(RteLibs.EthDev, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rte_eth_dev_get_port_by_name(string name, ushort* portId);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_dev_get_name_by_port(ushort portId, byte* name);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_dev_info_get(ushort portId, rte_eth_dev_info* info);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_dev_socket_id(ushort portId);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_dev_configure(ushort portId, ushort nbRxQ, ushort nbTxQ, void* conf);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_dev_adjust_nb_rx_tx_desc(ushort portId, ushort* nbRxDesc, ushort* nbTxDesc);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_rx_queue_setup(ushort portId, ushort queue, ushort nbDesc, uint socketId, void* rxConf, void* mempool);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_tx_queue_setup(ushort portId, ushort queue, ushort nbDesc, uint socketId, void* txConf);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_dev_start(ushort portId);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_dev_stop(ushort portId);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_dev_close(ushort portId);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_promiscuous_enable(ushort portId);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_link_get_nowait(ushort portId, rte_eth_link* link);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_stats_get(ushort portId, rte_eth_stats* stats);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_stats_reset(ushort portId);
    [LibraryImport(RteLibs.EthDev)] public static partial int rte_eth_macaddr_get(ushort portId, byte* mac);

    /// <summary>DPDK's message for an errno or rte_errno value.</summary>
    public static string StrError(int errnum)
    {
        byte* s = rte_strerror(errnum);
        return s == null ? $"error {errnum}" : Marshal.PtrToStringUTF8((nint)s) ?? $"error {errnum}";
    }

    /// <summary>
    /// The calling thread's <c>rte_errno</c>. It is a thread-local exported variable; glibc's dlsym resolves a TLS
    /// symbol to the calling thread's instance, so this must run on the thread that made the failed call.
    /// </summary>
    public static int Errno()
    {
        nint lib = NativeLibrary.Load(RteLibs.Eal);
        return NativeLibrary.TryGetExport(lib, "per_lcore__rte_errno", out nint p) ? *(int*)p : 0;
    }
}

/// <summary>The few libc calls the EAL wrapper needs (log capture into memory, CPU affinity).</summary>
internal static unsafe partial class LibC
{
    [LibraryImport(RteLibs.LibC)] public static partial void* open_memstream(byte** buf, nuint* size);
    [LibraryImport(RteLibs.LibC)] public static partial int fflush(void* f);
    [LibraryImport(RteLibs.LibC)] public static partial int fclose(void* f);
    [LibraryImport(RteLibs.LibC)] public static partial void free(void* p);
    [LibraryImport(RteLibs.LibC)] public static partial int sched_getaffinity(int pid, nuint size, byte* mask);
    [LibraryImport(RteLibs.LibC)] public static partial int sched_setaffinity(int pid, nuint size, byte* mask);
}
