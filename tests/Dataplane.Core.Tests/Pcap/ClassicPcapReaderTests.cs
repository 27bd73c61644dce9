using System.Buffers.Binary;
using Dataplane.Core.Pcap;

namespace Dataplane.Core.Tests.Pcap;

public class ClassicPcapReaderTests
{
    /// <summary>A big-endian nanosecond file written by hand (as a big-endian host's libpcap would).</summary>
    private static byte[] BigEndianNanosFile()
    {
        var b = new List<byte>();
        void U32(uint v) { byte[] x = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(x, v); b.AddRange(x); }
        void U16(ushort v) { byte[] x = new byte[2]; BinaryPrimitives.WriteUInt16BigEndian(x, v); b.AddRange(x); }
        U32(0xA1B23C4D); U16(2); U16(4); U32(0); U32(0); U32(262144); U32(101);   // LINKTYPE_RAW
        U32(1_700_000_000); U32(999_999_999); U32(3); U32(40); b.AddRange(new byte[] { 0x45, 0, 0 });
        return b.ToArray();
    }

    [Fact]
    public void ReadsBigEndianNanosecondFiles()
    {
        using var reader = new PcapReader(new MemoryStream(BigEndianNanosFile()));
        Assert.Equal(PcapLinkType.Raw, reader.LinkType);
        Assert.True(reader.TryReadNext(out PcapRecord r));
        Assert.Equal(1_700_000_000_999_999_999L, r.TimestampNanos);
        Assert.Equal(new byte[] { 0x45, 0, 0 }, r.Data);
        Assert.Equal(40, r.OriginalLength);
        Assert.Equal(PcapLinkType.Raw, r.LinkType);
        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void UnknownMagicNamesOffsetZero()
    {
        var ex = Assert.Throws<InvalidDataException>(() => new PcapReader(new MemoryStream([1, 2, 3, 4, 5, 6, 7, 8])));
        Assert.Contains("byte offset 0", ex.Message);
        Assert.Contains("magic", ex.Message);
    }

    [Fact]
    public void TruncatedRecordNamesWhereAndWhat()
    {
        byte[] file = BigEndianNanosFile()[..^1];
        using var reader = new PcapReader(new MemoryStream(file));
        var ex = Assert.Throws<InvalidDataException>(() => reader.TryReadNext(out _));
        Assert.Contains("truncated packet data", ex.Message);
        Assert.Contains($"byte offset {file.Length}", ex.Message);
    }

    [Fact]
    public void AbsurdCapturedLengthIsRejectedNotAllocated()
    {
        byte[] file = BigEndianNanosFile();
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(24 + 8), 0xFFFF_FFF0);
        using var reader = new PcapReader(new MemoryStream(file));
        var ex = Assert.Throws<InvalidDataException>(() => reader.TryReadNext(out _));
        Assert.Contains("byte offset 24", ex.Message);
    }
}
