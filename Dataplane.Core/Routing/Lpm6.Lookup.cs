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
    /// <paramref name="nextHops"/>. Four tbl24 loads are issued together; the deeper walk only runs for
    /// addresses whose slot points at a group. (Walking four lanes level by level, branch-free, measured
    /// slower: every lane pays for the deepest one.) Jitted fully optimized on first use (no tier-0 bursts).</summary>
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
                if (e0 >= Lpm6Entry.GroupTag) e0 = Walk(t8, e0, h0, a[0]);
                if (e1 >= Lpm6Entry.GroupTag) e1 = Walk(t8, e1, h1, a[2]);
                if (e2 >= Lpm6Entry.GroupTag) e2 = Walk(t8, e2, h2, a[4]);
                if (e3 >= Lpm6Entry.GroupTag) e3 = Walk(t8, e3, h3, a[6]);
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
