using System.Runtime.InteropServices;

namespace Dataplane.Dpdk.Interop;

/// <summary>
/// The fields of DPDK 22.11's <c>struct rte_mbuf</c> (x86-64/arm64, RTE_IOVA_AS_PA build) that the port reads and
/// writes; the rest is opaque. Offsets are checked against the real header by a test that compiles a C program.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct rte_mbuf
{
    public const int Size = 128;

    /// <summary>Virtual address of the segment buffer (headroom starts here).</summary>
    [FieldOffset(0)] public byte* buf_addr;
    /// <summary>Offset of the packet's first byte from <see cref="buf_addr"/> (RTE_PKTMBUF_HEADROOM on receive).</summary>
    [FieldOffset(16)] public ushort data_off;
    [FieldOffset(18)] public ushort refcnt;
    [FieldOffset(20)] public ushort nb_segs;
    [FieldOffset(22)] public ushort port;
    [FieldOffset(24)] public ulong ol_flags;
    [FieldOffset(32)] public uint packet_type;
    /// <summary>Total length over all segments.</summary>
    [FieldOffset(36)] public uint pkt_len;
    /// <summary>Length of this segment's data.</summary>
    [FieldOffset(40)] public ushort data_len;
    [FieldOffset(54)] public ushort buf_len;
    [FieldOffset(56)] public void* pool;
    [FieldOffset(64)] public rte_mbuf* next;
}
