using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;linux/if_packet.h&gt; and &lt;linux/if_ether.h&gt;: AF_PACKET options, TPACKET_V3 ring layout.</summary>
public static class IfPacket
{
    public const int SOL_PACKET = 263;
    public const ushort ETH_P_ALL = 0x0003;

    public const int PACKET_ADD_MEMBERSHIP = 1;
    public const int PACKET_DROP_MEMBERSHIP = 2;
    public const int PACKET_RX_RING = 5;
    public const int PACKET_STATISTICS = 6;
    public const int PACKET_VERSION = 10;
    public const int PACKET_RESERVE = 12;
    public const int PACKET_TX_RING = 13;
    public const int PACKET_VNET_HDR = 15;
    public const int PACKET_QDISC_BYPASS = 20;
    public const int PACKET_FANOUT = 18;
    public const int PACKET_IGNORE_OUTGOING = 23;
    public const int PACKET_FANOUT_HASH = 0;
    public const int PACKET_FANOUT_FLAG_DEFRAG = 0x8000;

    public const int PACKET_MR_PROMISC = 1;

    public const int TPACKET_V2 = 1;
    public const int TPACKET_V3 = 2;

    /// <summary>sll_pkttype of frames the host itself sent.</summary>
    public const byte PACKET_OUTGOING = 4;

    public const uint TP_STATUS_KERNEL = 0;
    public const uint TP_STATUS_USER = 1;
    public const uint TP_STATUS_COPY = 1 << 1;
    public const uint TP_STATUS_LOSING = 1 << 2;
    public const uint TP_STATUS_CSUMNOTREADY = 1 << 3;

    public const int TPACKET_ALIGNMENT = 16;

    // struct tpacket_block_desc { u32 version; u32 offset_to_priv; struct tpacket_hdr_v1 hdr; }
    public const int BD_block_status = 8;
    public const int BD_num_pkts = 12;
    public const int BD_offset_to_first_pkt = 16;
    public const int BD_blk_len = 20;

    // struct tpacket3_hdr (48 bytes), followed by struct sockaddr_ll at TPACKET_ALIGN(48).
    public const int H3_next_offset = 0;
    public const int H3_sec = 4;
    public const int H3_nsec = 8;
    public const int H3_snaplen = 12;
    public const int H3_len = 16;
    public const int H3_status = 20;
    public const int H3_mac = 24;
    public const int H3_net = 26;
    public const int SizeOfTpacket3Hdr = 48;
    /// <summary>Offset of sll_pkttype: sockaddr_ll at 48, sll_pkttype at 10 within it.</summary>
    public const int H3_sll_pkttype = 48 + 10;
    /// <summary>TPACKET3_HDRLEN: header + sockaddr_ll, the bytes in front of the frame we must keep.</summary>
    public const int Tpacket3HdrLen = 48 + 20;

    public static ushort Htons(ushort v) => (ushort)((v << 8) | (v >> 8));
}

[StructLayout(LayoutKind.Sequential)]
public struct tpacket_req3
{
    public uint tp_block_size;
    public uint tp_block_nr;
    public uint tp_frame_size;
    public uint tp_frame_nr;
    public uint tp_retire_blk_tov;
    public uint tp_sizeof_priv;
    public uint tp_feature_req_word;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct sockaddr_ll
{
    public ushort sll_family;
    public ushort sll_protocol;
    public int sll_ifindex;
    public ushort sll_hatype;
    public byte sll_pkttype;
    public byte sll_halen;
    public fixed byte sll_addr[8];
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct packet_mreq
{
    public int mr_ifindex;
    public ushort mr_type;
    public ushort mr_alen;
    public fixed byte mr_address[8];
}

/// <summary>struct tpacket_stats_v3 (PACKET_STATISTICS on a V3 socket; reading resets it).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct tpacket_stats_v3
{
    public uint tp_packets;
    public uint tp_drops;
    public uint tp_freeze_q_cnt;
}
