using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Dataplane.Core.Routing;

public sealed unsafe partial class Lpm4
{
    /// <summary>How many addresses ahead the bulk loop prefetches tbl24 slots. Random lookups miss the cache
    /// (tbl24 is 64 MiB), so issuing the loads early overlaps several misses.</summary>
    private const int PrefetchDistance = 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(uint ip, out uint nextHop)
    {
        uint e = _tbl24[ip >> 8];
        if ((e & LpmEntry.GroupBit) != 0)
            e = _tbl8[((nuint)(e & LpmEntry.NextHopMask) << 8) | (ip & 0xFF)];
        nextHop = e & LpmEntry.NextHopMask;
        return (e & LpmEntry.ValidBit) != 0;
    }

    /// <summary>
    /// Looks up every address in <paramref name="ips"/>, writing the next hop or <see cref="NotFound"/> to the
    /// same index of <paramref name="nextHops"/>. Four at a time with the tbl24 slots of later addresses
    /// prefetched, then a scalar tail.
    /// </summary>
    public void LookupBulk(ReadOnlySpan<uint> ips, Span<uint> nextHops)
    {
        if (nextHops.Length < ips.Length) ThrowShortOutput();
        uint* t24 = _tbl24;
        uint* t8 = _tbl8;
        int n = ips.Length;
        fixed (uint* src = ips)
        fixed (uint* dst = nextHops)
        {
            int i = 0;
            if (Sse.IsSupported)
            {
                for (; i + PrefetchDistance + 4 <= n; i += 4)
                {
                    uint* ahead = src + i + PrefetchDistance;
                    Sse.Prefetch0(t24 + (ahead[0] >> 8));
                    Sse.Prefetch0(t24 + (ahead[1] >> 8));
                    Sse.Prefetch0(t24 + (ahead[2] >> 8));
                    Sse.Prefetch0(t24 + (ahead[3] >> 8));
                    Lookup4(t24, t8, src + i, dst + i);
                }
            }
            for (; i + 4 <= n; i += 4) Lookup4(t24, t8, src + i, dst + i);
            for (; i < n; i++) dst[i] = Resolve(t8, t24[src[i] >> 8], src[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lookup4(uint* t24, uint* t8, uint* ip, uint* dst)
    {
        uint ip0 = ip[0], ip1 = ip[1], ip2 = ip[2], ip3 = ip[3];
        uint e0 = t24[ip0 >> 8], e1 = t24[ip1 >> 8], e2 = t24[ip2 >> 8], e3 = t24[ip3 >> 8];
        // One test for the common case: none of the four needs its tbl8 group.
        if (((e0 | e1 | e2 | e3) & LpmEntry.GroupBit) != 0)
        {
            e0 = Descend(t8, e0, ip0);
            e1 = Descend(t8, e1, ip1);
            e2 = Descend(t8, e2, ip2);
            e3 = Descend(t8, e3, ip3);
        }
        dst[0] = ToResult(e0);
        dst[1] = ToResult(e1);
        dst[2] = ToResult(e2);
        dst[3] = ToResult(e3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Resolve(uint* t8, uint e, uint ip) => ToResult(Descend(t8, e, ip));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Descend(uint* t8, uint e, uint ip) =>
        (e & LpmEntry.GroupBit) != 0 ? t8[((nuint)(e & LpmEntry.NextHopMask) << 8) | (ip & 0xFF)] : e;

    /// <summary>Next hop of a route slot, <see cref="NotFound"/> for an empty one, without a branch: the
    /// valid bit is shifted to the sign and smeared into an all-ones/zeros mask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ToResult(uint e) =>
        (e & LpmEntry.NextHopMask) | ~(uint)((int)(e << (31 - 24)) >> 31);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowShortOutput() =>
        throw new ArgumentException("nextHops must be at least as long as ips.", "nextHops");
}
