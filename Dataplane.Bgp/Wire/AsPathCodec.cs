using System.Buffers.Binary;

namespace Dataplane.Bgp.Wire;

/// <summary>AS_PATH segments (RFC 4271 §4.3) with 2- or 4-octet ASNs (RFC 6793).</summary>
internal static class AsPathCodec
{
    public static bool TryRead(ReadOnlySpan<byte> v, int asSize, out List<AsPathSegment> path)
    {
        path = [];
        while (!v.IsEmpty)
        {
            if (v.Length < 2) return false;
            byte type = v[0];
            int count = v[1];
            // An empty segment or an unknown segment type is malformed (RFC 7606 §7.2).
            if (type is < 1 or > 4 || count == 0) return false;
            int bytes = count * asSize;
            if (v.Length < 2 + bytes) return false;
            var asns = new uint[count];
            for (int i = 0; i < count; i++)
                asns[i] = asSize == 4 ? BinaryPrimitives.ReadUInt32BigEndian(v[(2 + 4 * i)..]) : BinaryPrimitives.ReadUInt16BigEndian(v[(2 + 2 * i)..]);
            path.Add(new AsPathSegment((AsPathSegmentType)type, asns));
            v = v[(2 + bytes)..];
        }
        return true;
    }

    public static byte[] Write(IReadOnlyList<AsPathSegment> path, int asSize)
    {
        var buf = new List<byte>();
        foreach (var s in path)
        {
            // Segments hold at most 255 ASNs; longer sequences are split.
            for (int start = 0; start < s.Asns.Length; start += 255)
            {
                int n = Math.Min(255, s.Asns.Length - start);
                buf.Add((byte)s.Type);
                buf.Add((byte)n);
                for (int i = start; i < start + n; i++)
                {
                    uint a = s.Asns[i];
                    if (asSize == 4) { buf.Add((byte)(a >> 24)); buf.Add((byte)(a >> 16)); }
                    else if (a > ushort.MaxValue) a = OpenMessage.AsTrans;
                    buf.Add((byte)(a >> 8));
                    buf.Add((byte)a);
                }
            }
        }
        return [.. buf];
    }

    /// <summary>
    /// Rebuilds the real path from a 2-octet speaker's AS_PATH and AS4_PATH (RFC 6793 §4.2.3): the leading
    /// ASes AS4_PATH does not cover come from AS_PATH, the rest from AS4_PATH. When AS4_PATH is longer
    /// than AS_PATH it is ignored.
    /// </summary>
    public static IReadOnlyList<AsPathSegment> MergeAs4(IReadOnlyList<AsPathSegment> asPath, List<AsPathSegment> as4Path)
    {
        static int Length(IEnumerable<AsPathSegment> p) => p.Sum(s => s.Type == AsPathSegmentType.Set ? 1 : s.Asns.Length);
        int keep = Length(asPath) - Length(as4Path);
        if (keep < 0) return asPath;
        var merged = new List<AsPathSegment>();
        foreach (var s in asPath)
        {
            if (keep == 0) break;
            if (s.Type == AsPathSegmentType.Set) { merged.Add(s); keep--; continue; }
            int take = Math.Min(keep, s.Asns.Length);
            merged.Add(s with { Asns = s.Asns[..take] });
            keep -= take;
        }
        merged.AddRange(as4Path);
        return merged;
    }

    /// <summary>Whether a 2-octet encoding of <paramref name="path"/> loses information (needs AS4_PATH).</summary>
    public static bool NeedsAs4Path(IReadOnlyList<AsPathSegment> path) => path.Any(s => s.Asns.Any(a => a > ushort.MaxValue));
}
