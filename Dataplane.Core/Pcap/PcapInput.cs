using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Dataplane.Core.Pcap;

/// <summary>
/// Sequential reads from the capture stream that know their byte offset, so every malformation is reported
/// as an <see cref="InvalidDataException"/> naming where and why.
/// </summary>
internal sealed class PcapInput(Stream stream)
{
    /// <summary>Offset of the next byte to be read, from the start of the file.</summary>
    public long Offset { get; private set; }

    /// <summary>Fills <paramref name="buffer"/>; false on a clean end of file (nothing read), throws on a partial read.</summary>
    public bool TryFill(Span<byte> buffer, string what)
    {
        int read = ReadUpTo(buffer);
        if (read == 0 && buffer.Length != 0) return false;
        if (read < buffer.Length) Fail(Offset, $"truncated {what}: expected {buffer.Length} bytes, file ends after {read}");
        return true;
    }

    /// <summary>Fills <paramref name="buffer"/> or throws: end of file here means truncation.</summary>
    public void Fill(Span<byte> buffer, string what)
    {
        int read = ReadUpTo(buffer);
        if (read < buffer.Length) Fail(Offset, $"truncated {what}: expected {buffer.Length} bytes, file ends after {read}");
    }

    private int ReadUpTo(Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        Offset += total;
        return total;
    }

    public static uint U32(ReadOnlySpan<byte> s, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s);

    public static ushort U16(ReadOnlySpan<byte> s, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s);

    public static ulong U64(ReadOnlySpan<byte> s, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s);

    [DoesNotReturn]
    public static void Fail(long offset, string reason) => throw Error(offset, reason);

    public static InvalidDataException Error(long offset, string reason) =>
        new($"Malformed capture file at byte offset {offset}: {reason}.");
}
