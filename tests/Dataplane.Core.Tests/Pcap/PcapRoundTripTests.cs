using System.Buffers.Binary;
using Dataplane.Core.Pcap;

namespace Dataplane.Core.Tests.Pcap;

public class PcapRoundTripTests
{
    private static byte[] WriteAll(PcapTimestampResolution resolution, int snapLength = PcapWriter.DefaultSnapLength)
    {
        var ms = new MemoryStream();
        using (var writer = new PcapWriter(ms, resolution, snapLength: snapLength, leaveOpen: true))
        {
            byte[][] packets = PcapTestData.Packets();
            for (int i = 0; i < packets.Length; i++) writer.Write(PcapTestData.TimestampOf(i), packets[i]);
        }
        return ms.ToArray();
    }

    [Theory]
    [InlineData(PcapTimestampResolution.Microseconds, 1000)]
    [InlineData(PcapTimestampResolution.Nanoseconds, 1)]
    public void WriteThenReadGivesSamePackets(PcapTimestampResolution resolution, long granularity)
    {
        byte[] file = WriteAll(resolution);
        using var reader = new PcapReader(new MemoryStream(file));
        Assert.Equal(PcapFileFormat.Classic, reader.Format);
        Assert.Equal(PcapLinkType.Ethernet, reader.LinkType);
        PcapRecord[] records = reader.ReadAll().ToArray();
        byte[][] packets = PcapTestData.Packets();
        Assert.Equal(packets.Length, records.Length);
        for (int i = 0; i < packets.Length; i++)
        {
            long ts = PcapTestData.TimestampOf(i);
            Assert.Equal(ts - ts % granularity, records[i].TimestampNanos);
            Assert.Equal(packets[i], records[i].Data);
            Assert.Equal(packets[i].Length, records[i].OriginalLength);
            Assert.Equal(PcapLinkType.Ethernet, records[i].LinkType);
        }
        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void HeaderIsLittleEndianMicrosecondEthernetWithSnap65535()
    {
        byte[] file = WriteAll(PcapTimestampResolution.Microseconds);
        Assert.Equal(Convert.FromHexString("d4c3b2a1020004000000000000000000ffff000001000000"), file[..24]);
        Assert.Equal(0xA1B23C4Du, BinaryPrimitives.ReadUInt32LittleEndian(WriteAll(PcapTimestampResolution.Nanoseconds)));
    }

    [Fact]
    public void OutputIsDeterministic()
    {
        Assert.Equal(WriteAll(PcapTimestampResolution.Microseconds), WriteAll(PcapTimestampResolution.Microseconds));
        Assert.Equal(WriteAll(PcapTimestampResolution.Nanoseconds), WriteAll(PcapTimestampResolution.Nanoseconds));
    }

    [Fact]
    public void LongPacketsAreTruncatedToSnapLengthKeepingOriginalLength()
    {
        byte[] file = WriteAll(PcapTimestampResolution.Microseconds, snapLength: 100);
        PcapRecord[] records = new PcapReader(new MemoryStream(file)).ReadAll().ToArray();
        byte[][] packets = PcapTestData.Packets();
        Assert.Equal(packets[2].AsSpan(0, 100).ToArray(), records[2].Data);
        Assert.Equal(1514, records[2].OriginalLength);
    }

    [Fact]
    public void FileRoundTripAndDisposeFlushes()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dataplane-roundtrip-{Environment.ProcessId}.pcap");
        try
        {
            using (var writer = PcapWriter.Create(path))
                writer.Write(PcapTestData.BaseNanos, [1, 2, 3]);
            using var reader = PcapReader.Open(path);
            Assert.True(reader.TryReadNext(out PcapRecord record));
            Assert.Equal(new byte[] { 1, 2, 3 }, record.Data);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WriterRejectsTimestampsPcapCannotHold()
    {
        using var writer = new PcapWriter(new MemoryStream());
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write(-1, [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Write((uint.MaxValue + 1L) * 1_000_000_000L, [1]));
        Assert.Throws<ArgumentException>(() => writer.Write(0, []));
    }
}
