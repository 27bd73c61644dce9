namespace Dataplane.Benchmarks.Routing;

/// <summary>
/// The IPv4 route set of DPDK's <c>lpm_perf_autotest</c> (app/test/test_lpm_perf.c), regenerated with our
/// own code from the facts that test documents: per address class (A = 0xxx, B = 10xx, C = 110x) and per
/// depth, a count of rules taken from a dump of a real router (1,076,806 rules in all, 54% of them /24),
/// spread evenly over the class's space from a random start, plus five fixed rules. Lookups in that test
/// are uniformly random 32-bit addresses.
/// </summary>
internal static class DpdkRouteTable
{
    // Rules per depth 1..32 for each class, as listed in test_lpm_perf.c.
    private static readonly int[] ClassA =
    [
        0, 0, 1, 0, 2, 1, 3, 185, 26, 16, 39, 144, 233, 528, 866, 3856,
        3268, 5662, 17301, 22226, 11147, 16746, 17120, 77578, 401, 656, 1107, 1121, 2316, 717, 10, 66,
    ];

    private static readonly int[] ClassB =
    [
        0, 0, 0, 0, 1, 1, 1, 3, 3, 30, 25, 168, 305, 569, 1129, 50800,
        1645, 1820, 3506, 3258, 3424, 4971, 6885, 39771, 424, 170, 433, 92, 366, 377, 2, 200,
    ];

    private static readonly int[] ClassC =
    [
        0, 0, 0, 0, 0, 0, 0, 12, 8, 9, 33, 69, 237, 1007, 1717, 14663,
        8070, 16185, 48261, 36870, 33960, 50638, 61422, 466549, 1829, 4824, 4927, 5914, 10254, 4905, 1, 716,
    ];

    /// <summary>The full rule list, in the order the DPDK test adds it (class by class, depth by depth, with
    /// the five extra rules dropped at random positions).</summary>
    public static List<(uint Prefix, int Depth)> Generate(Random rnd)
    {
        var rules = new List<(uint, int)>(1_100_000);
        AddClass(rules, rnd, ClassA, headBits: 1, head: 0x0000_0000);
        AddClass(rules, rnd, ClassB, headBits: 2, head: 0x8000_0000);
        AddClass(rules, rnd, ClassC, headBits: 3, head: 0xC000_0000);
        InsertAtRandom(rules, rnd, 0x0000_0000, 8);   // 0.0.0.0/8
        InsertAtRandom(rules, rnd, 0x0A02_1793, 32);  // 10.2.23.147/32
        InsertAtRandom(rules, rnd, 0xC0A8_640A, 24);  // 192.168.100.10/24 (host bits set, as in the test)
        InsertAtRandom(rules, rnd, 0xC0A8_1964, 24);  // 192.168.25.100/24
        InsertAtRandom(rules, rnd, 0xC0A8_817C, 32);  // 192.168.129.124/32
        return rules;
    }

    /// <summary>Depths weighted as in the DPDK table, for smaller random tables of the same shape.</summary>
    public static int RandomDepth(Random rnd)
    {
        int total = 0;
        for (int d = 0; d < 32; d++) total += ClassA[d] + ClassB[d] + ClassC[d];
        int pick = rnd.Next(total);
        for (int d = 0; d < 32; d++)
        {
            pick -= ClassA[d] + ClassB[d] + ClassC[d];
            if (pick < 0) return d + 1;
        }
        return 24;
    }

    private static void AddClass(List<(uint, int)> rules, Random rnd, int[] counts, int headBits, uint head)
    {
        for (int depth = 1; depth <= 32; depth++)
        {
            int count = counts[depth - 1];
            if (count == 0) continue;
            // The bits below the class head and above the depth vary; rules are spaced evenly across them.
            int freeBits = depth - headBits;
            ulong range = 1UL << freeBits;
            uint mask = (uint)(range - 1);
            uint step = range <= (ulong)count ? 1 : (uint)Math.Round((double)range / count);
            uint start = (uint)rnd.NextInt64() & mask;
            for (int k = 0; k < count; k++)
            {
                rules.Add(((start << (32 - depth)) | head, depth));
                start = (start + step) & mask;
            }
        }
    }

    private static void InsertAtRandom(List<(uint, int)> rules, Random rnd, uint prefix, int depth)
    {
        int pos = rnd.Next(rules.Count);
        rules.Add(rules[pos]);
        rules[pos] = (prefix, depth);
    }
}
