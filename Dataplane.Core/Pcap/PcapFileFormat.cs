namespace Dataplane.Core.Pcap;

/// <summary>Container format detected by <see cref="PcapReader"/>.</summary>
public enum PcapFileFormat
{
    /// <summary>libpcap's original format: one global header, then record headers and packets.</summary>
    Classic,

    /// <summary>pcapng: typed blocks, sections, per-interface link types and timestamp resolutions.</summary>
    PcapNg,
}
