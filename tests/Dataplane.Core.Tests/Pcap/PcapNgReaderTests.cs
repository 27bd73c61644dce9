using Dataplane.Core.Pcap;

namespace Dataplane.Core.Tests.Pcap;

public class PcapNgReaderTests
{
    private static readonly byte[] A = [0xAA, 0xBB, 0xCC, 0xDD, 0xEE];
    private static readonly byte[] B = [1, 2, 3, 4, 5, 6, 7, 8];
    private static readonly byte[] C = [9, 9, 9];

    /// <summary>
    /// Section 1 (little-endian): unknown block, Ethernet interface in microseconds, EPB, SPB, custom block,
    /// raw-IP interface in nanoseconds, EPB on it. Section 2 (big-endian): interface with 2^-10 s resolution
    /// and a 100 s offset, obsolete Packet Block, EPB.
    /// </summary>
    internal static byte[] TwoSectionFile() => new PcapNgBuilder()
        .Section(bigEndian: false)
        .Block(0x0BAD_0001, [1, 2, 3, 4, 5])                         // unknown type: skipped
        .Interface(linkType: 1, snapLength: 4)                        // snap 4 truncates Simple Packet Blocks
        .Enhanced(0, 1_700_000_000_000_001UL, A, originalLength: 60)
        .Simple(B)
        .Block(0x0000_0BAD, [])                                       // custom/unknown with empty body
        .Interface(linkType: 101, snapLength: 0, tsresol: 9)
        .Enhanced(1, 1_700_000_000_123_456_789UL, C)
        .Section(bigEndian: true)
        .Interface(linkType: 229, snapLength: 65535, tsresol: 0x80 | 10, tsOffset: 100)
        .ObsoletePacket(0, 3 * 1024 + 512, B)
        .Enhanced(0, 1024, A)
        .ToArray();

    [Fact]
    public void ReadsBlocksSectionsAndInterfaces()
    {
        using var reader = new PcapReader(new MemoryStream(TwoSectionFile()));
        Assert.Equal(PcapFileFormat.PcapNg, reader.Format);
        Assert.Equal(PcapLinkType.Ethernet, reader.LinkType);
        PcapRecord[] r = reader.ReadAll().ToArray();
        Assert.Equal(5, r.Length);

        Assert.Equal(new PcapRecord(1_700_000_000_000_001_000L, 1, r[0].Data, 60), r[0]);
        Assert.Equal(A, r[0].Data);

        Assert.Equal(B[..4], r[1].Data);                                 // SPB: captured = min(original, snaplen)
        Assert.Equal(8, r[1].OriginalLength);
        Assert.Equal(0, r[1].TimestampNanos);

        Assert.Equal(C, r[2].Data);
        Assert.Equal(1_700_000_000_123_456_789L, r[2].TimestampNanos);
        Assert.Equal(PcapLinkType.Raw, r[2].LinkType);

        Assert.Equal(B, r[3].Data);                                      // big-endian section, 2^-10 s units
        Assert.Equal(PcapLinkType.Ipv6, r[3].LinkType);
        Assert.Equal(103_500_000_000L, r[3].TimestampNanos);
        Assert.Equal(A, r[4].Data);
        Assert.Equal(101_000_000_000L, r[4].TimestampNanos);
    }

    [Fact]
    public void EmptySectionHasUnknownLinkTypeAndNoRecords()
    {
        using var reader = new PcapReader(new MemoryStream(new PcapNgBuilder().Section(bigEndian: true).ToArray()));
        Assert.Equal(PcapLinkType.Unknown, reader.LinkType);
        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void PacketForUndefinedInterfaceIsRejected()
    {
        byte[] file = new PcapNgBuilder().Section(false).Interface(1, 0).Enhanced(3, 0, A).ToArray();
        using var reader = new PcapReader(new MemoryStream(file));
        var ex = Assert.Throws<InvalidDataException>(() => reader.ReadAll().ToArray());
        Assert.Contains("interface 3", ex.Message);
    }

    [Fact]
    public void NewSectionForgetsPreviousInterfaces()
    {
        byte[] file = new PcapNgBuilder().Section(false).Interface(1, 0).Section(true).Enhanced(0, 0, A).ToArray();
        using var reader = new PcapReader(new MemoryStream(file));
        Assert.Throws<InvalidDataException>(() => reader.ReadAll().ToArray());
    }

    [Fact]
    public void MismatchedTrailingLengthIsRejectedWithOffset()
    {
        byte[] file = new PcapNgBuilder().Section(false).Interface(1, 0).Simple(B).ToArray();
        file[^4] ^= 0x40;
        using var reader = new PcapReader(new MemoryStream(file));
        var ex = Assert.Throws<InvalidDataException>(() => reader.ReadAll().ToArray());
        Assert.Contains($"byte offset {file.Length - 4}", ex.Message);
        Assert.Contains("trailing length", ex.Message);
    }

    [Fact]
    public void BadByteOrderMagicIsRejected()
    {
        byte[] file = new PcapNgBuilder().Section(false).ToArray();
        file[8] = 0x00;
        var ex = Assert.Throws<InvalidDataException>(() => new PcapReader(new MemoryStream(file)));
        Assert.Contains("byte offset 8", ex.Message);
    }
}
