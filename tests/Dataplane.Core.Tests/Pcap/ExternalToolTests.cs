using System.Globalization;
using Dataplane.Core.Pcap;

namespace Dataplane.Core.Tests.Pcap;

/// <summary>Our writer checked by tshark and tcpdump; our reader checked on pcapng files that Wireshark tools wrote.</summary>
public sealed class ExternalToolTests : IDisposable
{
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (string f in _files) File.Delete(f);
    }

    private string Temp(string suffix)
    {
        string path = ExternalTool.TempPath(suffix);
        _files.Add(path);
        return path;
    }

    private string WriteSample(PcapTimestampResolution resolution, int snapLength = PcapWriter.DefaultSnapLength)
    {
        string path = Temp(".pcap");
        using var writer = PcapWriter.Create(path, resolution, snapLength: snapLength);
        byte[][] packets = PcapTestData.Packets();
        for (int i = 0; i < packets.Length; i++) writer.Write(PcapTestData.TimestampOf(i), packets[i]);
        return path;
    }

    private static long Truncate(long nanos, PcapTimestampResolution resolution) =>
        resolution == PcapTimestampResolution.Nanoseconds ? nanos : nanos - nanos % 1000;

    [SkippableTheory]
    [InlineData(PcapTimestampResolution.Microseconds, PcapWriter.DefaultSnapLength)]
    [InlineData(PcapTimestampResolution.Nanoseconds, PcapWriter.DefaultSnapLength)]
    [InlineData(PcapTimestampResolution.Microseconds, 100)]
    public void TsharkReadsOurPcapWithSameLengthsAndTimes(PcapTimestampResolution resolution, int snapLength)
    {
        string path = WriteSample(resolution, snapLength);
        string output = ExternalTool.Run("tshark", "-r", path, "-T", "fields",
            "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch");
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        byte[][] packets = PcapTestData.Packets();
        Assert.Equal(packets.Length, lines.Length);
        for (int i = 0; i < packets.Length; i++)
        {
            string[] f = lines[i].Split('\t');
            Assert.Equal(packets[i].Length, int.Parse(f[0], CultureInfo.InvariantCulture));
            Assert.Equal(Math.Min(packets[i].Length, snapLength), int.Parse(f[1], CultureInfo.InvariantCulture));
            long nanos = (long)(decimal.Parse(f[2], CultureInfo.InvariantCulture) * 1_000_000_000m);
            Assert.Equal(Truncate(PcapTestData.TimestampOf(i), resolution), nanos);
        }
    }

    [SkippableFact]
    public void TcpdumpReadsOurPcap()
    {
        string path = WriteSample(PcapTimestampResolution.Nanoseconds);
        string output = ExternalTool.Run("tcpdump", "-r", path, "-n", "-q", "-tt", "--time-stamp-precision=nano");
        // Random payloads can decode to several lines; each packet's first line starts at column 0 with its time.
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !char.IsWhiteSpace(l[0])).ToArray();
        Assert.Equal(PcapTestData.Packets().Length, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            long t = PcapTestData.TimestampOf(i);
            Assert.StartsWith($"{t / 1_000_000_000}.{t % 1_000_000_000:D9} ", lines[i]);
        }
    }

    [SkippableTheory]
    [InlineData("editcap", PcapTimestampResolution.Nanoseconds)]
    [InlineData("editcap", PcapTimestampResolution.Microseconds)]
    [InlineData("tshark", PcapTimestampResolution.Nanoseconds)]
    public void ReadsPcapNgWrittenByWiresharkTools(string tool, PcapTimestampResolution resolution)
    {
        string pcap = WriteSample(resolution);
        string pcapng = Temp(".pcapng");
        if (tool == "editcap") ExternalTool.Run("editcap", "-F", "pcapng", pcap, pcapng);
        else ExternalTool.Run("tshark", "-r", pcap, "-F", "pcapng", "-w", pcapng);

        using var reader = PcapReader.Open(pcapng);
        Assert.Equal(PcapFileFormat.PcapNg, reader.Format);
        Assert.Equal(PcapLinkType.Ethernet, reader.LinkType);
        PcapRecord[] records = reader.ReadAll().ToArray();
        byte[][] packets = PcapTestData.Packets();
        Assert.Equal(packets.Length, records.Length);
        for (int i = 0; i < packets.Length; i++)
        {
            Assert.Equal(packets[i], records[i].Data);
            Assert.Equal(packets[i].Length, records[i].OriginalLength);
            Assert.Equal(Truncate(PcapTestData.TimestampOf(i), resolution), records[i].TimestampNanos);
            Assert.Equal(PcapLinkType.Ethernet, records[i].LinkType);
        }
    }
}
