namespace Dataplane.Core.Pcap;

/// <summary>A format-specific parser behind <see cref="PcapReader"/>.</summary>
internal abstract class PcapRecordSource
{
    public abstract PcapFileFormat Format { get; }

    /// <summary>Link type of the file (classic) or of the first interface (pcapng), or <see cref="PcapLinkType.Unknown"/>.</summary>
    public abstract int LinkType { get; }

    public abstract bool TryReadNext(out PcapRecord record);
}
