namespace Dataplane.Core.Pcap;

/// <summary>Fraction-of-second unit of a classic pcap file, chosen by its magic number.</summary>
public enum PcapTimestampResolution
{
    /// <summary>Magic 0xA1B2C3D4.</summary>
    Microseconds,

    /// <summary>Magic 0xA1B23C4D.</summary>
    Nanoseconds,
}
