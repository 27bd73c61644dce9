namespace Dataplane.Core.Pcap;

/// <summary>One captured packet.</summary>
/// <param name="TimestampNanos">Capture time in nanoseconds since the Unix epoch (UTC), converted from the file's resolution.</param>
/// <param name="LinkType">LINKTYPE_* value of the interface it was captured on (see <see cref="PcapLinkType"/>).</param>
/// <param name="Data">The captured bytes (possibly truncated to the snap length).</param>
/// <param name="OriginalLength">Length of the packet on the wire; at least <c>Data.Length</c> in a well-formed file.</param>
public readonly record struct PcapRecord(long TimestampNanos, int LinkType, byte[] Data, int OriginalLength);
