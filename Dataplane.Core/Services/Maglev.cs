using System.IO.Hashing;
using System.Text;

namespace Dataplane.Core.Services;

/// <summary>A backend as Maglev sees it: a stable key (e.g. "198.18.5.10:8080/TCP") and a weight.</summary>
public readonly record struct MaglevBackend(string Key, int Weight = 1);

/// <summary>
/// Maglev consistent hashing (Eisenbud et al., NSDI'16): every backend walks its own permutation of the M
/// slots (offset and skip from two hashes of its key) and the backends take turns claiming their next free
/// preferred slot until the table is full. Removing one of N backends moves about 1/N of the slots, and
/// every node that builds the ring from the same backend keys gets the same ring, with no coordination.
/// The ring is a flat <c>int[]</c> of backend indices built off the hot path; a lookup is <c>ring[hash % M]</c>.
/// </summary>
public static class Maglev
{
    /// <summary>Cilium's default table size (a prime).</summary>
    public const int DefaultSize = 16381;

    private const ulong OffsetSeed = 0x4d61676c65764f66; // "MaglevOf"
    private const ulong SkipSeed = 0x4d61676c65765368;   // "MaglevSh"

    /// <summary>
    /// Builds the lookup ring of <paramref name="size"/> slots (must be prime and larger than the number of
    /// backends). Weights are honoured by letting a backend claim <c>weight</c> slots per turn, as Cilium
    /// does; a backend with weight 0 gets none. Returns an empty array when no backend has a weight.
    /// </summary>
    public static int[] BuildRing(IReadOnlyList<MaglevBackend> backends, int size = DefaultSize)
    {
        if (!IsPrime(size)) throw new ArgumentException($"Maglev table size {size} must be prime", nameof(size));
        if (backends.Count >= size) throw new ArgumentException($"Maglev table size {size} must exceed the {backends.Count} backends", nameof(size));
        int n = backends.Count;
        // Turns are taken in key order, not input order, so every node derives the same ring from the same
        // backend set however its list happens to be ordered.
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Array.Sort(order, (a, b) => string.CompareOrdinal(backends[a].Key, backends[b].Key));
        var offset = new uint[n];
        var skip = new uint[n];
        var position = new uint[n];
        var weight = new int[n];
        int active = 0;
        for (int i = 0; i < n; i++)
        {
            var key = Encoding.UTF8.GetBytes(backends[order[i]].Key);
            offset[i] = (uint)(XxHash64.HashToUInt64(key, (long)OffsetSeed) % (ulong)size);
            skip[i] = (uint)(XxHash64.HashToUInt64(key, (long)SkipSeed) % (ulong)(size - 1)) + 1;
            position[i] = offset[i];
            weight[i] = Math.Max(0, backends[order[i]].Weight);
            if (weight[i] > 0) active++;
        }
        if (active == 0) return [];
        var ring = new int[size];
        // Claimed slots in a bitmap: M/8 bytes stays in L1 while the probes jump around the ring (the probes,
        // not the writes, dominate the build as the table fills).
        var taken = new ulong[(size + 63) / 64];

        Fill(ring, taken, order, position, skip, weight, (uint)size);
        return ring;
    }

    /// <summary>
    /// The claiming loop. position[i] is backend i's next candidate slot, offset + j·skip (mod M), advanced by
    /// addition so the loop has no multiply and no modulo; pointers keep bounds checks out of the probe.
    /// </summary>
    private static unsafe void Fill(int[] ring, ulong[] taken, int[] order, uint[] position, uint[] skip, int[] weight, uint size)
    {
        int n = order.Length;
        uint filled = 0;
        fixed (int* r = ring)
        fixed (ulong* t = taken)
        fixed (uint* pos = position, sk = skip)
        {
            while (true)
            {
                for (int i = 0; i < n; i++)
                {
                    uint c = pos[i], step = sk[i];
                    for (int w = weight[i]; w > 0; w--)
                    {
                        while ((t[c >> 6] & (1UL << (int)(c & 63))) != 0)
                        {
                            c += step;
                            if (c >= size) c -= size;
                        }
                        t[c >> 6] |= 1UL << (int)(c & 63);
                        r[c] = order[i];
                        if (++filled == size) return;
                        c += step;
                        if (c >= size) c -= size;
                    }
                    pos[i] = c;
                }
            }
        }
    }

    public static bool IsPrime(int m)
    {
        if (m < 2) return false;
        if (m % 2 == 0) return m == 2;
        for (int d = 3; (long)d * d <= m; d += 2) if (m % d == 0) return false;
        return true;
    }
}
