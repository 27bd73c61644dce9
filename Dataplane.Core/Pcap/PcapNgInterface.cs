namespace Dataplane.Core.Pcap;

/// <summary>What an Interface Description Block says about the packets that reference it.</summary>
internal readonly record struct PcapNgInterface(int LinkType, uint SnapLength, PcapNgTimestampUnit Unit, long OffsetSeconds)
{
    /// <summary>Block timestamp plus if_tsoffset, in nanoseconds since the epoch.</summary>
    public long ToNanos(ulong units, long blockOffset)
    {
        Int128 nanos = (Int128)Unit.ToNanos(units, blockOffset) + (Int128)OffsetSeconds * 1_000_000_000;
        if (nanos > long.MaxValue || nanos < long.MinValue)
            PcapInput.Fail(blockOffset, $"timestamp with if_tsoffset {OffsetSeconds} s overflows 64-bit nanoseconds");
        return (long)nanos;
    }
}
