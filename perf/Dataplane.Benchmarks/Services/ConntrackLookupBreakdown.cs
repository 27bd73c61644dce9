using System.Globalization;
using Dataplane.Benchmarks.Overlay;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;

namespace Dataplane.Benchmarks.Services;

/// <summary>
/// Part of `service-cpu`: the conntrack lookups of a service node's received packets alone, in thread CPU time
/// per packet — one at a time with no prefetch, then in the stage's passes (bucket, entry, NAT line prefetched
/// batch-wide before the lookups), then the passes plus reading the translation the stage applies — and one
/// entry line per packet loaded as a dependent chain, which is what a miss costs when nothing overlaps it. Without
/// hardware counters (a VM without a PMU), this is how misses are told from work.
/// </summary>
internal static unsafe class ConntrackLookupBreakdown
{
    private const int Batches = 256;

    public static void Print(string name, ServiceBenchNode node, int rounds)
    {
        ConntrackTable ct = node.Context.Conntrack!;
        var keys = new CtKey[Batches * 256];
        var hashes = new ulong[keys.Length];
        for (int b = 0; b < Batches; b++)
        {
            node.Receive();
            PacketPipeline.Run<ParseStage>(node.Batch, node.Pipeline.Snapshots.Current, node.Context);
            for (int i = 0; i < 256; i++)
            {
                keys[b * 256 + i] = ConntrackStage.KeyOf(in node.Batch[i]);
                hashes[b * 256 + i] = keys[b * 256 + i].Hash();
            }
        }
        double serial = double.MaxValue, passes = double.MaxValue, withNat = double.MaxValue, chain = double.MaxValue;
        uint* entries = stackalloc uint[256];
        for (int r = 0; r < rounds; r++)
        {
            ulong sink = 0;
            long t0 = OverlayCpuTime.ThreadCpuNanos();
            for (int k = 0; k < keys.Length; k++)
                if (ct.TryLookup(in keys[k], hashes[k], out uint e, out _)) sink += e;
            long t1 = OverlayCpuTime.ThreadCpuNanos();
            serial = Math.Min(serial, (double)(t1 - t0) / keys.Length);

            t0 = OverlayCpuTime.ThreadCpuNanos();
            for (int b = 0; b < keys.Length; b += 256) sink += Passes(ct, keys, hashes, b, entries, nat: false);
            t1 = OverlayCpuTime.ThreadCpuNanos();
            passes = Math.Min(passes, (double)(t1 - t0) / keys.Length);

            t0 = OverlayCpuTime.ThreadCpuNanos();
            for (int b = 0; b < keys.Length; b += 256) sink += Passes(ct, keys, hashes, b, entries, nat: true);
            t1 = OverlayCpuTime.ThreadCpuNanos();
            withNat = Math.Min(withNat, (double)(t1 - t0) / keys.Length);

            // Each load's address depends on the previous load's value (always 0 here): no overlap at all.
            t0 = OverlayCpuTime.ThreadCpuNanos();
            uint dep = 0;
            for (int k = 0; k < keys.Length; k++)
            {
                uint e = (uint)((hashes[k] | dep) % (ulong)ct.Capacity);
                dep = ct[e].Owner; // 0: no benchmark connection was opened by a local endpoint
            }
            t1 = OverlayCpuTime.ThreadCpuNanos();
            chain = Math.Min(chain, (double)(t1 - t0) / keys.Length);
            if (sink == ulong.MaxValue) Console.Write("");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {serial:F1} | {passes:F1} | {withNat:F1} | {chain:F1} |"));
    }

    private static ulong Passes(ConntrackTable ct, CtKey[] keys, ulong[] hashes, int b, uint* entries, bool nat)
    {
        ulong sink = 0;
        for (int i = 0; i < 256; i++) ct.PrefetchBucket(hashes[b + i]);
        for (int i = 0; i < 256; i++) entries[i] = ct.PrefetchEntry(hashes[b + i]);
        for (int i = 0; i < 256; i++)
            if (entries[i] != ConntrackTable.NoEntry && (ct[entries[i]].Flags & CtFlags.Nat) != 0) ct.PrefetchNat(entries[i]);
        for (int i = 0; i < 256; i++)
        {
            if (!ct.TryLookup(in keys[b + i], hashes[b + i], out uint e, out _)) continue;
            sink += e;
            if (nat) sink += (ulong)ct.Nat(e).Addr + ct.Nat(e).Port;
        }
        return sink;
    }
}
