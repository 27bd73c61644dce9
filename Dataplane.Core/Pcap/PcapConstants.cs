namespace Dataplane.Core.Pcap;

/// <summary>Magic numbers, block types and option codes of the two formats (values as read little-endian).</summary>
internal static class PcapConstants
{
    public const uint MagicMicros = 0xA1B2C3D4;
    public const uint MagicMicrosSwapped = 0xD4C3B2A1;
    public const uint MagicNanos = 0xA1B23C4D;
    public const uint MagicNanosSwapped = 0x4D3CB2A1;
    public const int ClassicHeaderLength = 24;
    public const int ClassicRecordHeaderLength = 16;

    public const uint BlockSectionHeader = 0x0A0D0D0A;     // a palindrome, so readable before the byte order is known
    public const uint BlockInterfaceDescription = 1;
    public const uint BlockPacketObsolete = 2;
    public const uint BlockSimplePacket = 3;
    public const uint BlockEnhancedPacket = 6;
    public const uint ByteOrderMagic = 0x1A2B3C4D;

    public const ushort OptionEnd = 0;
    public const ushort OptionIfTsResol = 9;
    public const ushort OptionIfTsOffset = 14;

    /// <summary>Refuses absurd lengths from a corrupt file instead of allocating them.</summary>
    public const int MaxRecordLength = 64 << 20;
}
