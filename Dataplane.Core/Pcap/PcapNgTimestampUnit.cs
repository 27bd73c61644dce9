namespace Dataplane.Core.Pcap;

/// <summary>
/// The if_tsresol option: with the top bit clear the unit is 10^-n seconds, with it set 2^-n seconds.
/// Absent, the unit is microseconds.
/// </summary>
internal readonly record struct PcapNgTimestampUnit(bool PowerOfTwo, int Exponent)
{
    public static readonly PcapNgTimestampUnit Microseconds = new(false, 6);

    public static PcapNgTimestampUnit FromOption(byte tsresol) => new((tsresol & 0x80) != 0, tsresol & 0x7F);

    /// <summary>Converts a 64-bit timestamp to nanoseconds; one that does not fit in a long is malformed.</summary>
    public long ToNanos(ulong units, long blockOffset)
    {
        UInt128 nanos;
        if (PowerOfTwo) nanos = ((UInt128)units * 1_000_000_000UL) >> Exponent;
        else if (Exponent <= 9) nanos = (UInt128)units * Pow10(9 - Exponent);
        else nanos = Exponent - 9 > 19 ? 0 : units / Pow10(Exponent - 9);
        if (nanos > long.MaxValue) PcapInput.Fail(blockOffset, $"timestamp {units} (unit {this}) overflows 64-bit nanoseconds");
        return (long)nanos;
    }

    private static ulong Pow10(int n)
    {
        ulong r = 1;
        for (int i = 0; i < n; i++) r *= 10;
        return r;
    }
}
