using System.Net;

namespace Dataplane.Bgp.Wire;

/// <summary>
/// The path attributes we understand, as received or to be sent. Unknown optional attributes are not kept:
/// this speaker originates routes and learns them, it does not re-advertise what it learns.
/// </summary>
public sealed record PathAttributes
{
    public Origin Origin { get; init; } = Origin.Igp;
    public IReadOnlyList<AsPathSegment> AsPath { get; init; } = [];
    /// <summary>NEXT_HOP attribute (IPv4 NLRI only); MP_REACH carries its own.</summary>
    public IPAddress? NextHop { get; init; }
    public uint? MultiExitDisc { get; init; }
    public uint? LocalPref { get; init; }
    public bool AtomicAggregate { get; init; }
    /// <summary>RFC 1997 communities, each (AS &lt;&lt; 16 | value).</summary>
    public IReadOnlyList<uint> Communities { get; init; } = [];

    /// <summary>AS_PATH length for best-path selection: a SET counts as one, confederation segments as zero
    /// (RFC 4271 §9.1.2.2 a, RFC 5065 §5.3).</summary>
    public int AsPathLength
    {
        get
        {
            int n = 0;
            foreach (var s in AsPath)
                n += s.Type switch { AsPathSegmentType.Sequence => s.Asns.Length, AsPathSegmentType.Set => 1, _ => 0 };
            return n;
        }
    }

    /// <summary>The neighbouring AS: the first AS of the first SEQUENCE, 0 when the path is empty.</summary>
    public uint FirstAs => AsPath.Count > 0 && AsPath[0].Type == AsPathSegmentType.Sequence && AsPath[0].Asns.Length > 0 ? AsPath[0].Asns[0] : 0;

    public static uint Community(ushort asn, ushort value) => ((uint)asn << 16) | value;

    public static string FormatCommunity(uint c) => $"{c >> 16}:{c & 0xFFFF}";

    public static uint ParseCommunity(string text)
    {
        int colon = text.IndexOf(':');
        return Community(ushort.Parse(text[..colon]), ushort.Parse(text[(colon + 1)..]));
    }
}
