namespace Dataplane.Core.Tests.Pcap;

/// <summary>A few deterministic packets of varied lengths for the pcap tests.</summary>
internal static class PcapTestData
{
    public const long BaseNanos = 1_700_000_000_123_456_789L;

    public static byte[][] Packets()
    {
        var rng = new Random(2024);
        int[] lengths = [60, 1, 1514, 14, 333, 97];
        return lengths.Select(n => { byte[] b = new byte[n]; rng.NextBytes(b); return b; }).ToArray();
    }

    public static long TimestampOf(int i) => BaseNanos + i * 1_000_001_001L;
}
