using System.Runtime.CompilerServices;
using Dataplane.Linux.Interop;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The C# mirrors of the kernel structs and constants against the system headers: a small C program compiled
/// with gcc prints the real sizes, offsets and values. Skipped (with a note) without gcc.
/// </summary>
public sealed unsafe class InteropLayoutTests(ITestOutputHelper output)
{
    private const string Program = """
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stddef.h>
        #include <sys/socket.h>
        #include <net/if.h>
        #include <poll.h>
        #include <linux/if_packet.h>
        #include <linux/if_xdp.h>
        #include <linux/if_link.h>
        #include <linux/bpf.h>
        #define P(name, v) printf("%s=%lld\n", name, (long long)(v))
        int main(void) {
          P("xdp_umem_reg", sizeof(struct xdp_umem_reg)); P("sockaddr_xdp", sizeof(struct sockaddr_xdp));
          P("xdp_mmap_offsets", sizeof(struct xdp_mmap_offsets)); P("xdp_desc", sizeof(struct xdp_desc));
          P("xdp_statistics", sizeof(struct xdp_statistics)); P("tpacket_req3", sizeof(struct tpacket_req3));
          P("sockaddr_ll", sizeof(struct sockaddr_ll)); P("packet_mreq", sizeof(struct packet_mreq));
          P("tpacket_stats_v3", sizeof(struct tpacket_stats_v3));
          P("msghdr", sizeof(struct msghdr)); P("mmsghdr", sizeof(struct mmsghdr)); P("ifreq", sizeof(struct ifreq));
          P("pollfd", sizeof(struct pollfd));
          P("tpacket3_hdr", sizeof(struct tpacket3_hdr)); P("TPACKET3_HDRLEN", TPACKET3_HDRLEN);
          P("H3_snaplen", offsetof(struct tpacket3_hdr, tp_snaplen)); P("H3_len", offsetof(struct tpacket3_hdr, tp_len));
          P("H3_mac", offsetof(struct tpacket3_hdr, tp_mac)); P("H3_sec", offsetof(struct tpacket3_hdr, tp_sec));
          P("H3_nsec", offsetof(struct tpacket3_hdr, tp_nsec));
          P("BD_block_status", offsetof(struct tpacket_block_desc, hdr.bh1.block_status));
          P("BD_num_pkts", offsetof(struct tpacket_block_desc, hdr.bh1.num_pkts));
          P("BD_offset_to_first_pkt", offsetof(struct tpacket_block_desc, hdr.bh1.offset_to_first_pkt));
          P("sll_pkttype", offsetof(struct sockaddr_ll, sll_pkttype));
          P("SOL_XDP", SOL_XDP); P("BPF_XDP", BPF_XDP); P("XDP_FLAGS_DRV_MODE", XDP_FLAGS_DRV_MODE);
          P("XDP_FLAGS_SKB_MODE", XDP_FLAGS_SKB_MODE); P("XDP_UMEM_PGOFF_FILL_RING", XDP_UMEM_PGOFF_FILL_RING);
          P("XDP_UMEM_PGOFF_COMPLETION_RING", XDP_UMEM_PGOFF_COMPLETION_RING); P("XDP_PGOFF_TX_RING", XDP_PGOFF_TX_RING);
          P("XDP_USE_NEED_WAKEUP", XDP_USE_NEED_WAKEUP); P("XDP_STATISTICS", XDP_STATISTICS);
          P("PACKET_IGNORE_OUTGOING", PACKET_IGNORE_OUTGOING); P("PACKET_QDISC_BYPASS", PACKET_QDISC_BYPASS);
          P("PACKET_RX_RING", PACKET_RX_RING); P("PACKET_VERSION", PACKET_VERSION); P("TPACKET_V3", TPACKET_V3);
          P("PACKET_RESERVE", PACKET_RESERVE); P("PACKET_OUTGOING", PACKET_OUTGOING);
          return 0;
        }
        """;

    [Fact]
    public void StructsAndConstantsMatchTheSystemHeaders()
    {
        if (!Sh.Has("gcc")) { output.WriteLine("skipped: gcc not installed"); return; }
        string dir = Directory.CreateTempSubdirectory("dp-layout-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "l.c"), Program);
            var cc = Sh.Run(TimeSpan.FromSeconds(60), "gcc", "-o", Path.Combine(dir, "l"), Path.Combine(dir, "l.c"));
            Assert.True(cc.Ok, cc.Output);
            var run = Sh.Run(Path.Combine(dir, "l"));
            Assert.True(run.Ok, run.Output);
            var c = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1]));
            var ours = new Dictionary<string, long>
            {
                ["xdp_umem_reg"] = sizeof(xdp_umem_reg), ["sockaddr_xdp"] = sizeof(sockaddr_xdp),
                ["xdp_mmap_offsets"] = sizeof(xdp_mmap_offsets), ["xdp_desc"] = sizeof(xdp_desc),
                ["xdp_statistics"] = sizeof(xdp_statistics), ["tpacket_req3"] = sizeof(tpacket_req3),
                ["sockaddr_ll"] = sizeof(sockaddr_ll), ["packet_mreq"] = sizeof(packet_mreq),
                ["tpacket_stats_v3"] = sizeof(tpacket_stats_v3),
                ["msghdr"] = sizeof(msghdr), ["mmsghdr"] = sizeof(mmsghdr), ["ifreq"] = sizeof(ifreq),
                ["pollfd"] = sizeof(pollfd),
                ["tpacket3_hdr"] = IfPacket.SizeOfTpacket3Hdr, ["TPACKET3_HDRLEN"] = IfPacket.Tpacket3HdrLen,
                ["H3_snaplen"] = IfPacket.H3_snaplen, ["H3_len"] = IfPacket.H3_len, ["H3_mac"] = IfPacket.H3_mac,
                ["H3_sec"] = IfPacket.H3_sec, ["H3_nsec"] = IfPacket.H3_nsec,
                ["BD_block_status"] = IfPacket.BD_block_status, ["BD_num_pkts"] = IfPacket.BD_num_pkts,
                ["BD_offset_to_first_pkt"] = IfPacket.BD_offset_to_first_pkt,
                ["sll_pkttype"] = IfPacket.H3_sll_pkttype - IfPacket.SizeOfTpacket3Hdr,
                ["SOL_XDP"] = IfXdp.SOL_XDP, ["BPF_XDP"] = LibBpf.BPF_XDP,
                ["XDP_FLAGS_DRV_MODE"] = LibBpf.XDP_FLAGS_DRV_MODE, ["XDP_FLAGS_SKB_MODE"] = LibBpf.XDP_FLAGS_SKB_MODE,
                ["XDP_UMEM_PGOFF_FILL_RING"] = IfXdp.XDP_UMEM_PGOFF_FILL_RING,
                ["XDP_UMEM_PGOFF_COMPLETION_RING"] = IfXdp.XDP_UMEM_PGOFF_COMPLETION_RING,
                ["XDP_PGOFF_TX_RING"] = IfXdp.XDP_PGOFF_TX_RING, ["XDP_USE_NEED_WAKEUP"] = IfXdp.XDP_USE_NEED_WAKEUP,
                ["XDP_STATISTICS"] = IfXdp.XDP_STATISTICS,
                ["PACKET_IGNORE_OUTGOING"] = IfPacket.PACKET_IGNORE_OUTGOING, ["PACKET_QDISC_BYPASS"] = IfPacket.PACKET_QDISC_BYPASS,
                ["PACKET_RX_RING"] = IfPacket.PACKET_RX_RING, ["PACKET_VERSION"] = IfPacket.PACKET_VERSION,
                ["TPACKET_V3"] = IfPacket.TPACKET_V3, ["PACKET_RESERVE"] = IfPacket.PACKET_RESERVE,
                ["PACKET_OUTGOING"] = IfPacket.PACKET_OUTGOING,
            };
            foreach (var (name, value) in ours)
            {
                // xdp_umem_reg grew tx_metadata_len (v2, 32 bytes); older headers say 28 bytes padded to 32.
                Assert.True(c.ContainsKey(name), $"{name} missing from the C output");
                Assert.True(c[name] == value, $"{name}: C says {c[name]}, C# says {value}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
