using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>
/// &lt;linux/virtio_net.h&gt;: the header AF_PACKET puts in front of every frame (both directions) once
/// PACKET_VNET_HDR is set, carrying the skb's checksum and segmentation offload state.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct virtio_net_hdr
{
    public const byte VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
    public const byte VIRTIO_NET_HDR_F_DATA_VALID = 2;

    public const byte VIRTIO_NET_HDR_GSO_NONE = 0;
    public const byte VIRTIO_NET_HDR_GSO_TCPV4 = 1;
    /// <summary>UFO: one datagram to be IP-fragmented. Not produced by current kernels; refused if seen.</summary>
    public const byte VIRTIO_NET_HDR_GSO_UDP = 3;
    public const byte VIRTIO_NET_HDR_GSO_TCPV6 = 4;
    /// <summary>USO: UDP_SEGMENT, gso_size-byte datagrams.</summary>
    public const byte VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
    public const byte VIRTIO_NET_HDR_GSO_ECN = 0x80;

    public byte flags;
    public byte gso_type;
    public ushort hdr_len;
    public ushort gso_size;
    public ushort csum_start;
    public ushort csum_offset;
}
