using Dataplane.Core.Pcap;

namespace Dataplane.Core.Tests.Pcap;

/// <summary>Whatever the damage, the reader reports InvalidDataException or reads a clean prefix: nothing else.</summary>
public class MalformedInputTests
{
    private static byte[] ClassicFile()
    {
        var ms = new MemoryStream();
        using (var w = new PcapWriter(ms, leaveOpen: true))
            foreach (byte[] p in PcapTestData.Packets()) w.Write(PcapTestData.BaseNanos, p);
        return ms.ToArray();
    }

    public static TheoryData<string> Files => new() { "classic", "pcapng" };

    private static byte[] FileNamed(string name) => name == "classic" ? ClassicFile() : PcapNgReaderTests.TwoSectionFile();

    private static void ReadExpectingOnlyInvalidData(byte[] file)
    {
        try
        {
            using var reader = new PcapReader(new MemoryStream(file));
            foreach (PcapRecord _ in reader.ReadAll()) { }
        }
        catch (InvalidDataException ex)
        {
            Assert.Contains("byte offset", ex.Message);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void EveryTruncationIsCleanOrInvalidData(string name)
    {
        byte[] file = FileNamed(name);
        for (int len = 0; len < file.Length; len++) ReadExpectingOnlyInvalidData(file[..len]);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void RandomCorruptionIsCleanOrInvalidData(string name)
    {
        byte[] original = FileNamed(name);
        var rng = new Random(name.Length);
        for (int round = 0; round < 3000; round++)
        {
            byte[] file = (byte[])original.Clone();
            for (int flips = rng.Next(1, 4); flips > 0; flips--) file[rng.Next(file.Length)] = (byte)rng.Next(256);
            ReadExpectingOnlyInvalidData(file);
        }
    }
}
