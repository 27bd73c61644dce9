using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;linux/if_xdp.h&gt;: AF_XDP socket options, ring offsets, descriptors.</summary>
public static class IfXdp
{
    public const int SOL_XDP = 283;

    public const int XDP_MMAP_OFFSETS = 1;
    public const int XDP_RX_RING = 2;
    public const int XDP_TX_RING = 3;
    public const int XDP_UMEM_REG = 4;
    public const int XDP_UMEM_FILL_RING = 5;
    public const int XDP_UMEM_COMPLETION_RING = 6;
    public const int XDP_STATISTICS = 7;

    // sxdp_flags
    public const ushort XDP_SHARED_UMEM = 1 << 0;
    public const ushort XDP_COPY = 1 << 1;
    public const ushort XDP_ZEROCOPY = 1 << 2;
    public const ushort XDP_USE_NEED_WAKEUP = 1 << 3;

    /// <summary>Flag in a ring's flags word: the kernel needs a syscall to make progress.</summary>
    public const uint XDP_RING_NEED_WAKEUP = 1 << 0;

    public const long XDP_PGOFF_RX_RING = 0;
    public const long XDP_PGOFF_TX_RING = 0x80000000;
    public const long XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
    public const long XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

    /// <summary>Headroom the kernel keeps in front of a received frame in a UMEM chunk (XDP_PACKET_HEADROOM).</summary>
    public const int XDP_PACKET_HEADROOM = 256;
}

/// <summary>struct xdp_umem_reg (v2 layout with tx_metadata_len; 32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct xdp_umem_reg
{
    public ulong addr;
    public ulong len;
    public uint chunk_size;
    public uint headroom;
    public uint flags;
    public uint tx_metadata_len;
}

[StructLayout(LayoutKind.Sequential)]
public struct xdp_ring_offset
{
    public ulong producer;
    public ulong consumer;
    public ulong desc;
    public ulong flags;
}

[StructLayout(LayoutKind.Sequential)]
public struct xdp_mmap_offsets
{
    public xdp_ring_offset rx;
    public xdp_ring_offset tx;
    public xdp_ring_offset fr;
    public xdp_ring_offset cr;
}

[StructLayout(LayoutKind.Sequential)]
public struct sockaddr_xdp
{
    public ushort sxdp_family;
    public ushort sxdp_flags;
    public uint sxdp_ifindex;
    public uint sxdp_queue_id;
    public uint sxdp_shared_umem_fd;
}

[StructLayout(LayoutKind.Sequential)]
public struct xdp_desc
{
    public ulong addr;
    public uint len;
    public uint options;
}

[StructLayout(LayoutKind.Sequential)]
public struct xdp_statistics
{
    public ulong rx_dropped;
    public ulong rx_invalid_descs;
    public ulong tx_invalid_descs;
    public ulong rx_ring_full;
    public ulong rx_fill_ring_empty_descs;
    public ulong tx_ring_empty_descs;
}
