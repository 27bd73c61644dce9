using System.Runtime.InteropServices;

namespace Dataplane.Dpdk.Interop;

/// <summary>
/// <c>struct rte_eth_fp_ops</c>: one per port in the exported <c>rte_eth_fp_ops[RTE_MAX_ETHPORTS]</c> array. The
/// header's static-inline <c>rte_eth_rx_burst</c>/<c>rte_eth_tx_burst</c> are a call through these pointers with the
/// queue's private data; the port does the same through <c>delegate* unmanaged</c>.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal unsafe struct rte_eth_fp_ops
{
    /// <summary><c>uint16_t (*)(void *rxq, struct rte_mbuf **pkts, uint16_t n)</c></summary>
    [FieldOffset(0)] public void* rx_pkt_burst;
    /// <summary><c>rxq.data</c>: per-queue driver data, indexed by queue id.</summary>
    [FieldOffset(24)] public void** rxq_data;
    [FieldOffset(32)] public void** rxq_clbk;
    /// <summary><c>uint16_t (*)(void *txq, struct rte_mbuf **pkts, uint16_t n)</c></summary>
    [FieldOffset(64)] public void* tx_pkt_burst;
    [FieldOffset(88)] public void** txq_data;
    [FieldOffset(96)] public void** txq_clbk;
}

/// <summary>The first fields of <c>struct rte_eth_stats</c> (704 bytes; the per-queue arrays follow).</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct rte_eth_stats
{
    public const int Size = 704;
    [FieldOffset(0)] public ulong ipackets;
    [FieldOffset(8)] public ulong opackets;
    [FieldOffset(16)] public ulong ibytes;
    [FieldOffset(24)] public ulong obytes;
    [FieldOffset(32)] public ulong imissed;
    [FieldOffset(40)] public ulong ierrors;
    [FieldOffset(48)] public ulong oerrors;
    [FieldOffset(56)] public ulong rx_nombuf;
}

/// <summary><c>struct rte_eth_link</c>: speed, then duplex/autoneg/status bits.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct rte_eth_link
{
    [FieldOffset(0)] public uint link_speed;
    [FieldOffset(4)] public ushort bits;
    public readonly bool Up => (bits & 0x4) != 0;
    public readonly bool FullDuplex => (bits & 0x1) != 0;
}

/// <summary>The fields of <c>struct rte_eth_dev_info</c> (376 bytes) the port reads.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct rte_eth_dev_info
{
    public const int Size = 376;
    [FieldOffset(8)] public byte* driver_name;
    [FieldOffset(16)] public uint if_index;
    [FieldOffset(44)] public ushort max_rx_queues;
    [FieldOffset(46)] public ushort max_tx_queues;
}

/// <summary>Sizes of structs passed by pointer but only ever zeroed here (all defaults).</summary>
internal static class RteSizes
{
    /// <summary><c>struct rte_eth_conf</c>: zeroed = one queue mode, no offloads, default MTU.</summary>
    public const int EthConf = 2272;
    /// <summary><c>RTE_ETH_NAME_MAX_LEN</c>.</summary>
    public const int EthNameMax = 64;
    /// <summary><c>RTE_MAX_ETHPORTS</c> of Debian's build.</summary>
    public const int MaxEthPorts = 32;
    /// <summary><c>RTE_PKTMBUF_HEADROOM</c>.</summary>
    public const int PktmbufHeadroom = 128;
    /// <summary><c>SOCKET_ID_ANY</c>.</summary>
    public const int SocketIdAny = -1;
}
