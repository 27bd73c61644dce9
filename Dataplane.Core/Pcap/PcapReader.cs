using static Dataplane.Core.Pcap.PcapConstants;

namespace Dataplane.Core.Pcap;

/// <summary>
/// Reads classic libpcap files (either byte order, microsecond or nanosecond magic) and pcapng files (sections
/// in either byte order, several interfaces, Enhanced/Simple/obsolete Packet Blocks; unknown blocks skipped).
/// Control-plane tooling: each record allocates its packet array.
/// </summary>
/// <remarks>
/// A malformed or truncated file raises <see cref="InvalidDataException"/> whose message gives the byte offset
/// and the reason; no other exception type escapes for bad input. Only a file that ends exactly between
/// records or blocks ends cleanly.
/// </remarks>
public sealed class PcapReader : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly PcapRecordSource _source;

    /// <summary>Opens <paramref name="path"/> and parses its file header.</summary>
    public static PcapReader Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        try
        {
            return new PcapReader(stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads from <paramref name="stream"/> (need not be seekable) and parses the file header now.</summary>
    public PcapReader(Stream stream, bool leaveOpen = false)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        var input = new PcapInput(stream);
        Span<byte> magic = stackalloc byte[4];
        input.Fill(magic, "file magic number");
        uint le = PcapInput.U32(magic, bigEndian: false);
        _source = le switch
        {
            MagicMicros or MagicMicrosSwapped or MagicNanos or MagicNanosSwapped => new ClassicPcapSource(input, magic),
            BlockSectionHeader => new PcapNgSource(input, magic),
            _ => throw PcapInput.Error(0, $"magic number 0x{le:X8} is neither pcap (A1B2C3D4, A1B23C4D, either byte order) nor pcapng (0A0D0D0A)"),
        };
    }

    public PcapFileFormat Format => _source.Format;

    /// <summary>
    /// The file's link type: from the global header (classic) or the first Interface Description Block
    /// (pcapng; <see cref="PcapLinkType.Unknown"/> if there is none). pcapng records carry their own interface's
    /// type in <see cref="PcapRecord.LinkType"/>, which can differ.
    /// </summary>
    public int LinkType => _source.LinkType;

    /// <summary>The next packet, or false at a clean end of file.</summary>
    public bool TryReadNext(out PcapRecord record) => _source.TryReadNext(out record);

    /// <summary>The remaining packets, read lazily.</summary>
    public IEnumerable<PcapRecord> ReadAll()
    {
        while (TryReadNext(out PcapRecord record)) yield return record;
    }

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
