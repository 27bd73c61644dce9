using System.Net;

namespace Dataplane.Bgp.Wire;

/// <summary>
/// NLRI prefix encoding (RFC 4271 §4.3, RFC 4760 §5): a length in bits, then just enough bytes to hold it.
/// </summary>
internal static class PrefixCodec
{
    /// <summary>Reads every prefix in <paramref name="data"/>; false when a length is too long for the
    /// family or a prefix runs past the end (the caller picks the subcode).</summary>
    public static bool TryReadAll(ReadOnlySpan<byte> data, Afi afi, List<BgpPrefix> into)
    {
        int maxBits = afi == Afi.Ipv4 ? 32 : 128;
        Span<byte> addr = stackalloc byte[16];
        while (!data.IsEmpty)
        {
            int bits = data[0];
            if (bits > maxBits) return false;
            int bytes = (bits + 7) >> 3;
            if (data.Length < 1 + bytes) return false;
            var a = addr[..(maxBits / 8)];
            a.Clear();
            data.Slice(1, bytes).CopyTo(a);
            // Trailing bits beyond the length are ignored on receipt, as RFC 4271 §4.3 allows.
            BgpPrefix.Mask(a, bits);
            into.Add(new BgpPrefix(new IPAddress(a), (byte)bits, alreadyMasked: true));
            data = data[(1 + bytes)..];
        }
        return true;
    }

    public static int EncodedLength(BgpPrefix p) => 1 + ((p.Length + 7) >> 3);

    public static int Write(Span<byte> dest, BgpPrefix p)
    {
        Span<byte> addr = stackalloc byte[16];
        p.Address.TryWriteBytes(addr, out _);
        int bytes = (p.Length + 7) >> 3;
        dest[0] = p.Length;
        addr[..bytes].CopyTo(dest[1..]);
        return 1 + bytes;
    }
}
