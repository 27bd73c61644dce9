using Dataplane.Core.Drops;
using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Loader;

/// <summary>The datapath's per-CPU counters summed over CPUs: the same figures WorkerCounters keeps.</summary>
public sealed record EbpfCounters(ulong RxPackets, ulong RxBytes, ulong TxPackets, ulong TxBytes, ulong LocalPackets,
    ulong EventsLost, IReadOnlyDictionary<DropReason, (ulong Packets, ulong Bytes)> Drops)
{
    public ulong DroppedPackets => Drops.Values.Aggregate(0UL, (s, d) => s + d.Packets);

    public ulong DropsOf(DropReason reason) => Drops.TryGetValue(reason, out var d) ? d.Packets : 0;

    /// <summary>Zeroes every counter on every CPU.</summary>
    public static void Reset(EbpfDatapath dp)
    {
        for (uint s = 0; s < dp.Stats.MaxEntries; s++) dp.Stats.UpdatePerCpu(s, 0UL);
        for (uint r = 0; r < dp.Drops.MaxEntries; r++) dp.Drops.UpdatePerCpu(r, default(DropCounter));
    }

    public static EbpfCounters Read(EbpfDatapath dp)
    {
        ulong Stat(StatSlot s) => dp.Stats.LookupPerCpu<uint, ulong>((uint)s).Aggregate(0UL, (a, b) => a + b);
        var drops = new Dictionary<DropReason, (ulong, ulong)>();
        for (uint r = 1; r < 256; r++)
        {
            ulong packets = 0, bytes = 0;
            foreach (var c in dp.Drops.LookupPerCpu<uint, DropCounter>(r)) { packets += c.Packets; bytes += c.Bytes; }
            if (packets != 0) drops[(DropReason)r] = (packets, bytes);
        }
        return new EbpfCounters(Stat(StatSlot.RxPackets), Stat(StatSlot.RxBytes), Stat(StatSlot.TxPackets),
            Stat(StatSlot.TxBytes), Stat(StatSlot.LocalPackets), Stat(StatSlot.EventsLost), drops);
    }
}
