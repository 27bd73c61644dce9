using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Dataplane.Core.Routing;

public sealed unsafe partial class Lpm6
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(UInt128 ip, out uint nextHop) => TryLookup((ulong)(ip >> 64), (ulong)ip, out nextHop);

    /// <summary>Looks up a 16-byte address in network byte order (as it sits in the IPv6 header).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(ReadOnlySpan<byte> ip, out uint nextHop)
    {
        if (ip.Length < 16) ThrowShortAddress();
        return TryLookup(BinaryPrimitives.ReadUInt64BigEndian(ip), BinaryPrimitives.ReadUInt64BigEndian(ip.Slice(8)), out nextHop);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryLookup(ulong hi, ulong lo, out uint nextHop)
    {
        uint e = _tbl24[hi >> 40];
        if (e >= Lpm6Entry.GroupTag) e = Walk(_tbl8, e, hi, lo);
        nextHop = e & Lpm6Entry.NextHopMask;
        return e != 0;
    }

    /// <summary>Writes the next hop of each address, or <see cref="NotFound"/>, to the same index of
    /// <paramref name="nextHops"/>. Four addresses walk the trie side by side, one level per round, so their
    /// cache misses overlap instead of forming four dependent chains; lanes that already reached a route
    /// take a dummy step without branching. Jitted fully optimized on first use (no tier-0 bursts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void LookupBulk(ReadOnlySpan<UInt128> ips, Span<uint> nextHops)
    {
        if (nextHops.Length < ips.Length) ThrowShortOutput();
        uint* t24 = _tbl24;
        uint* t8 = _tbl8;
        int n = ips.Length;
        fixed (UInt128* src = ips)
        fixed (uint* dst = nextHops)
        {
            // UInt128 is laid out little-endian: low half first.
            ulong* a = (ulong*)src;
            int i = 0;
            for (; i + 4 <= n; i += 4, a += 8)
            {
                ulong h0 = a[1], h1 = a[3], h2 = a[5], h3 = a[7];
                uint e0 = t24[h0 >> 40], e1 = t24[h1 >> 40], e2 = t24[h2 >> 40], e3 = t24[h3 >> 40];
                for (int level = 1; AnyGroup(e0, e1, e2, e3); level++)
                {
                    e0 = Step(t8, e0, ByteAt(h0, a[0], level));
                    e1 = Step(t8, e1, ByteAt(h1, a[2], level));
                    e2 = Step(t8, e2, ByteAt(h2, a[4], level));
                    e3 = Step(t8, e3, ByteAt(h3, a[6], level));
                }
                dst[i] = ToResult(e0);
                dst[i + 1] = ToResult(e1);
                dst[i + 2] = ToResult(e2);
                dst[i + 3] = ToResult(e3);
            }
            for (; i < n; i++, a += 2)
            {
                uint e = t24[a[1] >> 40];
                if (e >= Lpm6Entry.GroupTag) e = Walk(t8, e, a[1], a[0]);
                dst[i] = ToResult(e);
            }
        }
    }

    /// <summary>Whether any slot is a group pointer: tag + 1 reaches bit 8 only for the 0xFF tag (route
    /// tags stop at 0x81), so one OR tests all four without a branch each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AnyGroup(uint e0, uint e1, uint e2, uint e3) =>
        ((((e0 >> 24) + 1) | ((e1 >> 24) + 1) | ((e2 >> 24) + 1) | ((e3 >> 24) + 1)) & 0x100) != 0;

    /// <summary>Address byte indexing a group at <paramref name="level"/> (1 = the fourth byte).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ByteAt(ulong hi, ulong lo, int level) =>
        level <= 5 ? (byte)(hi >> (40 - 8 * level)) : (byte)(lo >> (104 - 8 * level));

    /// <summary>One level down for a group pointer; a route or empty slot stays as it is. Branch-free: a
    /// finished lane reads slot 0 of the pool (always in cache) and keeps its value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Step(uint* t8, uint e, uint b)
    {
        bool isGroup = e >= Lpm6Entry.GroupTag;
        nuint index = isGroup ? ((nuint)(e & Lpm6Entry.NextHopMask) << 8) | b : 0;
        uint next = t8[index];
        return isGroup ? next : e;
    }

    /// <summary>Follows group pointers one address byte per level (bytes 3..15) until a route or empty slot.
    /// Groups at the last level hold no pointers, so the walk always ends.</summary>
    private static uint Walk(uint* t8, uint e, ulong hi, ulong lo)
    {
        for (int shift = 32; shift >= 0; shift -= 8)
        {
            e = t8[((nuint)(e & Lpm6Entry.NextHopMask) << 8) | (byte)(hi >> shift)];
            if (e < Lpm6Entry.GroupTag) return e;
        }
        for (int shift = 56; ; shift -= 8)
        {
            e = t8[((nuint)(e & Lpm6Entry.NextHopMask) << 8) | (byte)(lo >> shift)];
            if (e < Lpm6Entry.GroupTag) return e;
        }
    }

    /// <summary>Next hop of a route slot, <see cref="NotFound"/> for an empty (zero) one, without a branch:
    /// (e | -e) has the sign bit set exactly when e is non-zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ToResult(uint e) => (e & Lpm6Entry.NextHopMask) | (((e | (0u - e)) >> 31) - 1);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowShortOutput() =>
        throw new ArgumentException("nextHops must be at least as long as ips.", "nextHops");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowShortAddress() =>
        throw new ArgumentException("an IPv6 address is 16 bytes.", "ip");
}
