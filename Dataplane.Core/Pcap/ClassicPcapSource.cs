using static Dataplane.Core.Pcap.PcapConstants;

namespace Dataplane.Core.Pcap;

/// <summary>
/// Classic libpcap: a 24-byte global header (magic, version 2.4, zone, sigfigs, snaplen, link type) followed by
/// records of a 16-byte header (seconds, fraction, captured length, original length) and the packet bytes.
/// Byte order and fraction unit both come from the magic number.
/// </summary>
internal sealed class ClassicPcapSource : PcapRecordSource
{
    private readonly PcapInput _input;
    private readonly bool _bigEndian;
    private readonly long _nanosPerFraction;

    /// <summary>Parses the global header; <paramref name="magic"/> is its first four bytes, already read.</summary>
    public ClassicPcapSource(PcapInput input, ReadOnlySpan<byte> magic)
    {
        _input = input;
        uint le = PcapInput.U32(magic, bigEndian: false);
        _bigEndian = le is MagicMicrosSwapped or MagicNanosSwapped;
        Resolution = le is MagicNanos or MagicNanosSwapped ? PcapTimestampResolution.Nanoseconds : PcapTimestampResolution.Microseconds;
        _nanosPerFraction = Resolution == PcapTimestampResolution.Nanoseconds ? 1 : 1000;

        Span<byte> rest = stackalloc byte[ClassicHeaderLength - 4];
        long at = input.Offset;
        input.Fill(rest, "pcap global header");
        ushort major = PcapInput.U16(rest, _bigEndian);
        if (major != 2) PcapInput.Fail(at, $"unsupported pcap version {major}.{PcapInput.U16(rest[2..], _bigEndian)}");
        SnapLength = PcapInput.U32(rest[12..], _bigEndian);
        // The upper bits of the link-type field carry FCS information; the type itself is the low 16 bits.
        LinkType = (int)(PcapInput.U32(rest[16..], _bigEndian) & 0xFFFF);
    }

    public override PcapFileFormat Format => PcapFileFormat.Classic;
    public override int LinkType { get; }
    public PcapTimestampResolution Resolution { get; }
    public uint SnapLength { get; }

    public override bool TryReadNext(out PcapRecord record)
    {
        record = default;
        Span<byte> header = stackalloc byte[ClassicRecordHeaderLength];
        long at = _input.Offset;
        if (!_input.TryFill(header, "record header")) return false;

        uint seconds = PcapInput.U32(header, _bigEndian);
        uint fraction = PcapInput.U32(header[4..], _bigEndian);
        uint captured = PcapInput.U32(header[8..], _bigEndian);
        uint original = PcapInput.U32(header[12..], _bigEndian);
        if (captured > MaxRecordLength) PcapInput.Fail(at, $"record captured length {captured} exceeds {MaxRecordLength}");
        if (original > int.MaxValue) PcapInput.Fail(at, $"record original length {original} is out of range");

        byte[] data = new byte[captured];
        _input.Fill(data, "packet data");
        record = new PcapRecord(seconds * 1_000_000_000L + fraction * _nanosPerFraction, LinkType, data, (int)original);
        return true;
    }
}
