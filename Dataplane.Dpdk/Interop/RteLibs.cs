namespace Dataplane.Dpdk.Interop;

/// <summary>
/// Sonames of Debian 12's DPDK 22.11 (ABI 23). The ethdev, mempool and mbuf libraries are found by soname; the
/// poll-mode drivers (net_af_packet, net_tap, …) are plugins that the EAL loads itself from its driver directory
/// (/usr/lib/&lt;triplet&gt;/dpdk/pmds-23.0) during rte_eal_init.
/// </summary>
internal static class RteLibs
{
    public const string Eal = "librte_eal.so.23";
    public const string EthDev = "librte_ethdev.so.23";
    public const string Mbuf = "librte_mbuf.so.23";
    public const string Mempool = "librte_mempool.so.23";
    public const string LibC = "libc";
}
