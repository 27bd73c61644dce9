namespace Dataplane.Testing.Packets;

/// <summary>
/// RFC 1071 written the obvious way, independent of the code under test: big-endian words, odd byte padded,
/// end-around carry folded at the end.
/// </summary>
public static class ReferenceChecksum
{
    public static ushort FoldedSum(ReadOnlySpan<byte> data, ulong initial = 0)
    {
        ulong sum = initial;
        for (int i = 0; i + 1 < data.Length; i += 2) sum += (ulong)((data[i] << 8) | data[i + 1]);
        if ((data.Length & 1) != 0) sum += (ulong)data[^1] << 8;
        while ((sum >> 16) != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    public static ushort Checksum(ReadOnlySpan<byte> data, ulong initial = 0) => (ushort)~FoldedSum(data, initial);

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));
}
