namespace Dataplane.Linux.AfPacket;

/// <summary>Sizes and switches of an AF_PACKET port.</summary>
public sealed record AfPacketOptions
{
    /// <summary>TPACKET_V3 block size (a power of two, multiple of the page size).</summary>
    public int BlockSize { get; init; } = 1 << 17;
    public int BlockCount { get; init; } = 32;
    /// <summary>Nominal frame size (V3 packs frames of any size into a block; this only sizes the request).</summary>
    public int FrameSize { get; init; } = 2048;
    /// <summary>A block is handed to us when full or after this many milliseconds.</summary>
    public int BlockTimeoutMs { get; init; } = 1;
    /// <summary>Extra bytes the kernel leaves in front of each frame: headroom for encapsulation.</summary>
    public int Reserve { get; init; } = 128;
    public bool Promiscuous { get; init; } = true;
    /// <summary>PACKET_QDISC_BYPASS: transmit straight to the driver.</summary>
    public bool QdiscBypass { get; init; } = true;
    public int SendBufferBytes { get; init; } = 4 << 20;
    /// <summary>PACKET_FANOUT group id (0 = none): sockets of one group split the interface's traffic by flow hash.</summary>
    public ushort FanoutGroup { get; init; }
    /// <summary>
    /// PACKET_VNET_HDR: receive each frame's checksum/segmentation offload state, so partial sums are completed and
    /// GSO super-frames segmented. Off only for tests of the old behaviour.
    /// </summary>
    public bool VnetHeader { get; init; } = true;
}
