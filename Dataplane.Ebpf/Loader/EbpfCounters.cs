using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Ebpf.Maps;

namespace Dataplane.Ebpf.Loader;

/// <summary>
/// The datapath's per-CPU counters summed over CPUs: the same figures WorkerCounters keeps. Drops are counted by
/// (direction, reason) in dp_drops (slot direction * 256 + reason, as WorkerCounters.DirectionalDrops);
/// <see cref="Drops"/> sums the directions, <see cref="DirectionalDrops"/> keeps them apart. <see cref="AuditedPackets"/>:
/// what policy audit mode let through, by direction (as WorkerCounters.AuditedPackets).
/// </summary>
public sealed record EbpfCounters(ulong RxPackets, ulong RxBytes, ulong TxPackets, ulong TxBytes, ulong LocalPackets,
    ulong EventsLost, IReadOnlyDictionary<DropReason, (ulong Packets, ulong Bytes)> Drops,
    IReadOnlyDictionary<(TrafficDirection Direction, DropReason Reason), (ulong Packets, ulong Bytes)> DirectionalDrops,
    ulong[] AuditedPackets)
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
        var directional = new Dictionary<(TrafficDirection, DropReason), (ulong, ulong)>();
        for (uint slot = 0; slot < DatapathLimits.DropSlots; slot++)
        {
            if (slot % 256 == 0) continue;
            ulong packets = 0, bytes = 0;
            foreach (var c in dp.Drops.LookupPerCpu<uint, DropCounter>(slot)) { packets += c.Packets; bytes += c.Bytes; }
            if (packets == 0) continue;
            var reason = (DropReason)(slot % 256);
            directional[((TrafficDirection)(slot / 256), reason)] = (packets, bytes);
            var (p, b) = drops.GetValueOrDefault(reason);
            drops[reason] = (p + packets, b + bytes);
        }
        return new EbpfCounters(Stat(StatSlot.RxPackets), Stat(StatSlot.RxBytes), Stat(StatSlot.TxPackets),
            Stat(StatSlot.TxBytes), Stat(StatSlot.LocalPackets), Stat(StatSlot.EventsLost), drops, directional,
            [.. Enumerable.Range(0, Core.Counters.WorkerCounters.Directions).Select(d => Stat(StatSlot.Audited + (uint)d))]);
    }
}
