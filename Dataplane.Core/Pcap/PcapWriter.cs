using System.Buffers.Binary;
using static Dataplane.Core.Pcap.PcapConstants;

namespace Dataplane.Core.Pcap;

/// <summary>
/// Writes classic little-endian pcap: version 2.4, zone and sigfigs 0, a fixed snap length and link type.
/// Nothing depends on the clock or the environment, so the same packets always give byte-identical files.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    public const int DefaultSnapLength = 65535;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly long _nanosPerFraction;
    private bool _disposed;

    /// <summary>Creates (or truncates) <paramref name="path"/> and writes the global header.</summary>
    public static PcapWriter Create(string path, PcapTimestampResolution resolution = PcapTimestampResolution.Microseconds,
        int linkType = PcapLinkType.Ethernet, int snapLength = DefaultSnapLength) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16),
            resolution, linkType, snapLength);

    /// <summary>Writes the global header to <paramref name="stream"/>; records follow with each <see cref="Write"/>.</summary>
    public PcapWriter(Stream stream, PcapTimestampResolution resolution = PcapTimestampResolution.Microseconds,
        int linkType = PcapLinkType.Ethernet, int snapLength = DefaultSnapLength, bool leaveOpen = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(snapLength);
        ArgumentOutOfRangeException.ThrowIfNegative(linkType);
        _stream = stream;
        _leaveOpen = leaveOpen;
        Resolution = resolution;
        SnapLength = snapLength;
        _nanosPerFraction = resolution == PcapTimestampResolution.Nanoseconds ? 1 : 1000;

        Span<byte> header = stackalloc byte[ClassicHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, resolution == PcapTimestampResolution.Nanoseconds ? MagicNanos : MagicMicros);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);    // thiszone: timestamps are UTC
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);  // sigfigs
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], snapLength);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], linkType);
        _stream.Write(header);
    }

    public PcapTimestampResolution Resolution { get; }
    public int SnapLength { get; }

    /// <summary>
    /// Appends one packet captured at <paramref name="timestampNanos"/> (since the Unix epoch; truncated to
    /// microseconds unless the writer is nanosecond). Packets longer than the snap length are truncated, with
    /// the original length recorded. An empty packet is refused: libpcap (tcpdump) rejects a record with
    /// zero captured length as an invalid header.
    /// </summary>
    public void Write(long timestampNanos, ReadOnlySpan<byte> packet)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long seconds = timestampNanos / 1_000_000_000;
        if (timestampNanos < 0 || seconds > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(timestampNanos), timestampNanos, "pcap timestamps are unsigned 32-bit seconds since 1970");
        if (packet.IsEmpty) throw new ArgumentException("pcap records must hold at least one byte", nameof(packet));
        int captured = Math.Min(packet.Length, SnapLength);

        Span<byte> header = stackalloc byte[ClassicRecordHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(timestampNanos % 1_000_000_000 / _nanosPerFraction));
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], captured);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], packet.Length);
        _stream.Write(header);
        _stream.Write(packet[..captured]);
    }

    public void Flush() => _stream.Flush();

    /// <summary>Flushes, and closes the stream unless the writer was told to leave it open.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stream.Flush();
        if (!_leaveOpen) _stream.Dispose();
    }
}
