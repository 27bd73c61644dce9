using System.Runtime.InteropServices;
using Dataplane.Dpdk.Ethdev;
using Dataplane.Dpdk.Interop;
using Dataplane.Dpdk.Tests.Support;

namespace Dataplane.Dpdk.Tests;

/// <summary>
/// The C# mirrors of DPDK structs against the real headers: a C program compiled with gcc and
/// `pkg-config --cflags libdpdk` prints offsetof/sizeof of every field we touch, and each must equal ours.
/// </summary>
public sealed class LayoutTests
{
    private const string Program = """
        #include <stdio.h>
        #include <stddef.h>
        #include <rte_mbuf.h>
        #include <rte_ethdev.h>
        #define OFF(s, f) printf(#s "." #f " %zu\n", offsetof(struct s, f))
        #define SIZE(s) printf("sizeof " #s " %zu\n", sizeof(struct s))
        int main(void) {
          OFF(rte_mbuf, buf_addr); OFF(rte_mbuf, data_off); OFF(rte_mbuf, refcnt); OFF(rte_mbuf, nb_segs);
          OFF(rte_mbuf, port); OFF(rte_mbuf, ol_flags); OFF(rte_mbuf, packet_type); OFF(rte_mbuf, pkt_len);
          OFF(rte_mbuf, data_len); OFF(rte_mbuf, buf_len); OFF(rte_mbuf, pool); OFF(rte_mbuf, next);
          OFF(rte_eth_fp_ops, rx_pkt_burst); OFF(rte_eth_fp_ops, rxq.data); OFF(rte_eth_fp_ops, rxq.clbk);
          OFF(rte_eth_fp_ops, tx_pkt_burst); OFF(rte_eth_fp_ops, txq.data); OFF(rte_eth_fp_ops, txq.clbk);
          OFF(rte_eth_stats, ipackets); OFF(rte_eth_stats, opackets); OFF(rte_eth_stats, ibytes); OFF(rte_eth_stats, obytes);
          OFF(rte_eth_stats, imissed); OFF(rte_eth_stats, ierrors); OFF(rte_eth_stats, oerrors); OFF(rte_eth_stats, rx_nombuf);
          OFF(rte_eth_dev_info, driver_name); OFF(rte_eth_dev_info, if_index);
          OFF(rte_eth_dev_info, max_rx_queues); OFF(rte_eth_dev_info, max_tx_queues);
          OFF(rte_eth_link, link_speed);
          SIZE(rte_mbuf); SIZE(rte_eth_fp_ops); SIZE(rte_eth_stats); SIZE(rte_eth_link); SIZE(rte_eth_dev_info); SIZE(rte_eth_conf);
          struct rte_eth_link l = {0}; l.link_status = 1; printf("bits rte_eth_link.link_status %u\n", *(uint16_t *)((char *)&l + 4));
          l.link_status = 0; l.link_duplex = 1; printf("bits rte_eth_link.link_duplex %u\n", *(uint16_t *)((char *)&l + 4));
          printf("const RTE_ETH_NAME_MAX_LEN %d\n", RTE_ETH_NAME_MAX_LEN);
          printf("const RTE_MAX_ETHPORTS %d\n", RTE_MAX_ETHPORTS);
          printf("const RTE_PKTMBUF_HEADROOM %d\n", RTE_PKTMBUF_HEADROOM);
          printf("const RTE_MBUF_DEFAULT_BUF_SIZE %d\n", RTE_MBUF_DEFAULT_BUF_SIZE);
          printf("const SOCKET_ID_ANY %d\n", SOCKET_ID_ANY);
          return 0;
        }
        """;

    private static int Off<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [SkippableFact]
    public unsafe void MirroredStructs_MatchTheDpdkHeaders()
    {
        DpdkEnv.Require(compiler: true);
        string dir = Path.Combine(Path.GetTempPath(), "dpt-layout-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string src = Path.Combine(dir, "layout.c"), exe = Path.Combine(dir, "layout");
            File.WriteAllText(src, Program);
            var cflags = Sh.Run("pkg-config", "--cflags", "libdpdk");
            Assert.True(cflags.Ok, cflags.Output);
            var cc = Sh.Run(TimeSpan.FromSeconds(120), "gcc", [.. cflags.Output.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), src, "-o", exe]);
            Assert.True(cc.Ok, "gcc: " + cc.Output);
            var run = Sh.Run(exe);
            Assert.True(run.Ok, run.Output);
            var c = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split(' ')).ToDictionary(p => p[0] == "sizeof" || p[0] == "bits" || p[0] == "const" ? p[0] + " " + p[1] : p[0], p => long.Parse(p[^1], System.Globalization.CultureInfo.InvariantCulture));

            var ours = new Dictionary<string, long>
            {
                ["rte_mbuf.buf_addr"] = Off<rte_mbuf>(nameof(rte_mbuf.buf_addr)),
                ["rte_mbuf.data_off"] = Off<rte_mbuf>(nameof(rte_mbuf.data_off)),
                ["rte_mbuf.refcnt"] = Off<rte_mbuf>(nameof(rte_mbuf.refcnt)),
                ["rte_mbuf.nb_segs"] = Off<rte_mbuf>(nameof(rte_mbuf.nb_segs)),
                ["rte_mbuf.port"] = Off<rte_mbuf>(nameof(rte_mbuf.port)),
                ["rte_mbuf.ol_flags"] = Off<rte_mbuf>(nameof(rte_mbuf.ol_flags)),
                ["rte_mbuf.packet_type"] = Off<rte_mbuf>(nameof(rte_mbuf.packet_type)),
                ["rte_mbuf.pkt_len"] = Off<rte_mbuf>(nameof(rte_mbuf.pkt_len)),
                ["rte_mbuf.data_len"] = Off<rte_mbuf>(nameof(rte_mbuf.data_len)),
                ["rte_mbuf.buf_len"] = Off<rte_mbuf>(nameof(rte_mbuf.buf_len)),
                ["rte_mbuf.pool"] = Off<rte_mbuf>(nameof(rte_mbuf.pool)),
                ["rte_mbuf.next"] = Off<rte_mbuf>(nameof(rte_mbuf.next)),
                ["rte_eth_fp_ops.rx_pkt_burst"] = Off<rte_eth_fp_ops>(nameof(rte_eth_fp_ops.rx_pkt_burst)),
                ["rte_eth_fp_ops.rxq.data"] = Off<rte_eth_fp_ops>(nameof(rte_eth_fp_ops.rxq_data)),
                ["rte_eth_fp_ops.rxq.clbk"] = Off<rte_eth_fp_ops>(nameof(rte_eth_fp_ops.rxq_clbk)),
                ["rte_eth_fp_ops.tx_pkt_burst"] = Off<rte_eth_fp_ops>(nameof(rte_eth_fp_ops.tx_pkt_burst)),
                ["rte_eth_fp_ops.txq.data"] = Off<rte_eth_fp_ops>(nameof(rte_eth_fp_ops.txq_data)),
                ["rte_eth_fp_ops.txq.clbk"] = Off<rte_eth_fp_ops>(nameof(rte_eth_fp_ops.txq_clbk)),
                ["rte_eth_stats.ipackets"] = Off<rte_eth_stats>(nameof(rte_eth_stats.ipackets)),
                ["rte_eth_stats.opackets"] = Off<rte_eth_stats>(nameof(rte_eth_stats.opackets)),
                ["rte_eth_stats.ibytes"] = Off<rte_eth_stats>(nameof(rte_eth_stats.ibytes)),
                ["rte_eth_stats.obytes"] = Off<rte_eth_stats>(nameof(rte_eth_stats.obytes)),
                ["rte_eth_stats.imissed"] = Off<rte_eth_stats>(nameof(rte_eth_stats.imissed)),
                ["rte_eth_stats.ierrors"] = Off<rte_eth_stats>(nameof(rte_eth_stats.ierrors)),
                ["rte_eth_stats.oerrors"] = Off<rte_eth_stats>(nameof(rte_eth_stats.oerrors)),
                ["rte_eth_stats.rx_nombuf"] = Off<rte_eth_stats>(nameof(rte_eth_stats.rx_nombuf)),
                ["rte_eth_dev_info.driver_name"] = Off<rte_eth_dev_info>(nameof(rte_eth_dev_info.driver_name)),
                ["rte_eth_dev_info.if_index"] = Off<rte_eth_dev_info>(nameof(rte_eth_dev_info.if_index)),
                ["rte_eth_dev_info.max_rx_queues"] = Off<rte_eth_dev_info>(nameof(rte_eth_dev_info.max_rx_queues)),
                ["rte_eth_dev_info.max_tx_queues"] = Off<rte_eth_dev_info>(nameof(rte_eth_dev_info.max_tx_queues)),
                ["rte_eth_link.link_speed"] = Off<rte_eth_link>(nameof(rte_eth_link.link_speed)),
                ["sizeof rte_mbuf"] = sizeof(rte_mbuf),
                ["sizeof rte_eth_fp_ops"] = sizeof(rte_eth_fp_ops),
                ["sizeof rte_eth_stats"] = sizeof(rte_eth_stats),
                ["sizeof rte_eth_link"] = sizeof(rte_eth_link),
                ["sizeof rte_eth_dev_info"] = sizeof(rte_eth_dev_info),
                ["sizeof rte_eth_conf"] = RteSizes.EthConf,
                ["bits rte_eth_link.link_status"] = new rte_eth_link { bits = 4 }.Up ? 4 : -1,
                ["bits rte_eth_link.link_duplex"] = new rte_eth_link { bits = 1 }.FullDuplex ? 1 : -1,
                ["const RTE_ETH_NAME_MAX_LEN"] = RteSizes.EthNameMax,
                ["const RTE_MAX_ETHPORTS"] = RteSizes.MaxEthPorts,
                ["const RTE_PKTMBUF_HEADROOM"] = RteSizes.PktmbufHeadroom,
                ["const RTE_MBUF_DEFAULT_BUF_SIZE"] = MbufPool.DefaultDataRoom,
                ["const SOCKET_ID_ANY"] = RteSizes.SocketIdAny,
            };
            Assert.Equal(ours.Count, c.Count);
            foreach (var (name, value) in ours)
            {
                Assert.True(c.TryGetValue(name, out long real), $"{name} not printed by the C program");
                Assert.True(real == value, $"{name}: C says {real}, C# says {value}");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
