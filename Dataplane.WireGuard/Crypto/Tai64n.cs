using System.Buffers.Binary;

namespace Dataplane.WireGuard.Crypto;

/// <summary>
/// TAI64N timestamps of handshake initiations (§5.1): 8 bytes big-endian seconds from the TAI64 base, 4 bytes
/// big-endian nanoseconds. A responder accepts an initiation only with a timestamp greater than the last one it
/// accepted from that peer, which is what stops replayed initiations. Nanoseconds are rounded down to a 2^24 ns
/// step so the timestamp does not leak a precise clock (wireguard-go does the same).
/// </summary>
public static class Tai64n
{
    public const int Size = 12;
    private const ulong Base = 0x400000000000000a;
    private const int WhitenerMask = 0x1000000 - 1;

    public static void Now(Span<byte> output) => Write(DateTimeOffset.UtcNow, output);

    public static void Write(DateTimeOffset time, Span<byte> output)
    {
        long ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        ulong seconds = (ulong)(ticks / TimeSpan.TicksPerSecond);
        int nanos = (int)(ticks % TimeSpan.TicksPerSecond * 100);
        BinaryPrimitives.WriteUInt64BigEndian(output, Base + seconds);
        BinaryPrimitives.WriteUInt32BigEndian(output[8..], (uint)(nanos & ~WhitenerMask));
    }

    /// <summary>True when <paramref name="candidate"/> is strictly after <paramref name="last"/> (byte order is time order).</summary>
    public static bool After(ReadOnlySpan<byte> candidate, ReadOnlySpan<byte> last) => candidate[..Size].SequenceCompareTo(last[..Size]) > 0;
}
