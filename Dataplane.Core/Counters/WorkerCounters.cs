using Dataplane.Core.Drops;

namespace Dataplane.Core.Counters;

/// <summary>
/// One worker's counters. Only that worker writes them (no atomics on the datapath); readers sum across
/// workers and tolerate slightly stale values, as with Cilium's per-CPU maps.
/// </summary>
public sealed class WorkerCounters
{
    public const int MaxStages = 32;

    public ulong RxPackets;
    public ulong RxBytes;
    public ulong TxPackets;
    public ulong TxBytes;
    /// <summary>Handed to the host stack (addressed to the node itself).</summary>
    public ulong LocalPackets;
    /// <summary>Handed to the neighbour resolver to wait for their next hop's MAC (sent or dropped there).</summary>
    public ulong QueuedPackets;
    public ulong Batches;

    /// <summary>Indexed by <see cref="DropReason"/> code.</summary>
    public readonly ulong[] Drops = new ulong[256];
    public readonly ulong[] DropBytes = new ulong[256];

    /// <summary>
    /// Drops by traffic direction and reason, indexed <c>direction * 256 + reason</c> (direction as
    /// <see cref="Packets.TrafficDirection"/>): the labels of Cilium's <c>cilium_drop_count_total{reason,direction}</c>.
    /// </summary>
    public readonly ulong[] DirectionalDrops = new ulong[Directions * 256];
    public readonly ulong[] DirectionalDropBytes = new ulong[Directions * 256];

    /// <summary>Transmitted packets and bytes by traffic direction (<c>cilium_forward_count_total{direction}</c>).</summary>
    public readonly ulong[] ForwardPackets = new ulong[Directions];
    public readonly ulong[] ForwardBytes = new ulong[Directions];

    /// <summary>
    /// Packets policy audit mode let through that policy would have dropped, by the direction of that policy
    /// (<c>dataplane_policy_audited_total{direction}</c>).
    /// </summary>
    public readonly ulong[] AuditedPackets = new ulong[Directions];
    /// <summary>Unknown, ingress, egress.</summary>
    public const int Directions = 3;

    /// <summary>Packets each stage was given (indexed by stage id), counted once per batch.</summary>
    public readonly ulong[] StagePackets = new ulong[MaxStages];

    /// <summary>Packets each stage dropped (indexed by stage id, <see cref="Packets.PacketMeta.DecidedBy"/>): VPP's per-node error counts.</summary>
    public readonly ulong[] StageDrops = new ulong[MaxStages];

    public ulong TotalDrops
    {
        get { ulong s = 0; foreach (var d in Drops) s += d; return s; }
    }

    public void Add(WorkerCounters other)
    {
        RxPackets += other.RxPackets; RxBytes += other.RxBytes;
        TxPackets += other.TxPackets; TxBytes += other.TxBytes;
        LocalPackets += other.LocalPackets; QueuedPackets += other.QueuedPackets; Batches += other.Batches;
        for (int i = 0; i < 256; i++) { Drops[i] += other.Drops[i]; DropBytes[i] += other.DropBytes[i]; }
        for (int i = 0; i < MaxStages; i++) { StagePackets[i] += other.StagePackets[i]; StageDrops[i] += other.StageDrops[i]; }
        for (int i = 0; i < DirectionalDrops.Length; i++)
        {
            DirectionalDrops[i] += other.DirectionalDrops[i];
            DirectionalDropBytes[i] += other.DirectionalDropBytes[i];
        }
        for (int i = 0; i < Directions; i++)
        {
            ForwardPackets[i] += other.ForwardPackets[i]; ForwardBytes[i] += other.ForwardBytes[i];
            AuditedPackets[i] += other.AuditedPackets[i];
        }
    }
}
