namespace Dataplane.Bgp.Rib;

/// <summary>
/// The decision process of RFC 4271 §9.1.2.2 for the attributes we carry. <see cref="CompareForMultipath"/>
/// stops before the arbitrary tie-breaks: paths equal up to there form the ECMP set. Like most speakers'
/// "as-path multipath-relax", equal AS_PATH length is enough; the neighbour AS may differ.
/// </summary>
public static class BestPathComparer
{
    /// <summary>Negative when <paramref name="a"/> is preferred.</summary>
    public static int Compare(LearnedRoute a, LearnedRoute b)
    {
        int c = CompareForMultipath(a, b);
        if (c != 0) return c;
        // f) lowest BGP identifier, g) lowest peer address.
        c = a.Peer.RouterId.CompareTo(b.Peer.RouterId);
        if (c != 0) return c;
        return CompareBytes(a.Peer.Address.GetAddressBytes(), b.Peer.Address.GetAddressBytes());
    }

    public static int CompareForMultipath(LearnedRoute a, LearnedRoute b)
    {
        // Not part of RFC 4271: a stale path (peer restarting) loses to a fresh one.
        int c = a.Stale.CompareTo(b.Stale);
        if (c != 0) return c;
        // Degree of preference: higher LOCAL_PREF.
        c = b.EffectiveLocalPref.CompareTo(a.EffectiveLocalPref);
        if (c != 0) return c;
        // a) shorter AS_PATH.
        c = a.Attributes.AsPathLength.CompareTo(b.Attributes.AsPathLength);
        if (c != 0) return c;
        // b) lower ORIGIN.
        c = ((byte)a.Attributes.Origin).CompareTo((byte)b.Attributes.Origin);
        if (c != 0) return c;
        // c) lower MED, only between paths from the same neighbouring AS; a missing MED counts as 0.
        if (a.Attributes.FirstAs == b.Attributes.FirstAs)
        {
            c = (a.Attributes.MultiExitDisc ?? 0).CompareTo(b.Attributes.MultiExitDisc ?? 0);
            if (c != 0) return c;
        }
        // d) eBGP over iBGP. e) IGP cost to the next hop: we have none, all equal.
        return a.Peer.Internal.CompareTo(b.Peer.Internal);
    }

    private static int CompareBytes(byte[] a, byte[] b)
    {
        if (a.Length != b.Length) return a.Length.CompareTo(b.Length);
        for (int i = 0; i < a.Length; i++)
            if (a[i] != b[i]) return a[i].CompareTo(b[i]);
        return 0;
    }
}
