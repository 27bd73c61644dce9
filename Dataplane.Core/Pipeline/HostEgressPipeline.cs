using System.Runtime.CompilerServices;
using Dataplane.Core.Packets;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// The host firewall on what the node's own stack sends, as Cilium runs it in to-netdev: the stages a frame leaving
/// through one of the node's interfaces goes through (the eBPF backend's dp_host_egress at tcx egress runs the same,
/// bpf/host_egress.h; the differential tests hold them equal). Only with host policies on, and only for IP packets
/// from one of the host's addresses (ipcache: the host identity) to anything but the host — the rest is not judged:
/// it leaves untouched and uncounted. An IP packet the parser refuses is judged too and dropped with its reason (the
/// firewall fails closed). A judged packet: conntrack lookup (a reply of a connection the host's ingress admitted,
/// or a later packet of one the host opened, passes), identities again (a translated reply is judged by its new
/// addresses), the host endpoint's egress policy against the destination identity (<see cref="PolicyStage"/>:
/// 133/181, direction egress), conntrack create for an allowed new connection (so its replies pass the host's
/// ingress as replies), then accounting and flow events as every packet. Verdict <see cref="PacketVerdict.Tx"/> on
/// the port it leaves by (it may go) or <see cref="PacketVerdict.Drop"/>.
/// </summary>
public sealed class HostEgressPipeline(SnapshotHolder snapshots)
{
    public SnapshotHolder Snapshots { get; } = snapshots;

    /// <summary>
    /// Judges the frames of <paramref name="batch"/>, each as sent out of its <see cref="PacketMeta.InPort"/>.
    /// Returns how many were judged; those are moved to the front of the batch, in their order, and carry the
    /// verdict; the others (after them) were not the host's own traffic and must leave as they are.
    /// </summary>
    public int Process(Batch batch, WorkerContext context)
    {
        DatapathSnapshot snapshot = Snapshots.Current;
        if (!snapshot.HostFirewall) return 0;
        context.Counters.Batches++;
        context.NowSeconds = PacketPipeline.ClockSeconds(batch);
        PacketPipeline.Run<ParseStage>(batch, snapshot, context);
        PacketPipeline.Run<IdentityStage>(batch, snapshot, context);
        int total = batch.Count, judged = Partition(batch);
        for (int start = 0; start < judged;)
        {
            batch.View(start, judged - start);
            if (context.Conntrack != null) PacketPipeline.Run<ConntrackStage>(batch, snapshot, context);
            int window = batch.Count;
            PacketPipeline.Run<IdentityStage>(batch, snapshot, context);
            LeaveByInPort(batch);
            PacketPipeline.Run<PolicyStage>(batch, snapshot, context);
            PacketPipeline.Run<ConntrackCommitStage>(batch, snapshot, context);
            start += window;
        }
        batch.View(0, judged);
        PacketPipeline.Account(batch, context);
        batch.View(0, total);
        return judged;
    }

    /// <summary>Whether the egress hook judges the packet (bpf/host_egress.h's host_egress_judged).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Judged(in PacketMeta p)
    {
        if (p.Verdict == PacketVerdict.Drop) return p.EtherType is 0x0800 or 0x86dd;
        const uint host = Identity.NumericIdentity.Host;
        return p.Verdict == PacketVerdict.Continue && p.IpVersion != 0 && (p.Flags & PacketFlags.Ndp) == 0
            && p.SrcIdentity == host && p.DstIdentity != host;
    }

    /// <summary>Moves the judged packets to the front, keeping their order; returns their number.</summary>
    private static int Partition(Batch batch)
    {
        int judged = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            if (!Judged(in batch[i])) continue;
            if (i != judged) (batch[judged], batch[i]) = (batch[i], batch[judged]);
            judged++;
        }
        return judged;
    }

    /// <summary>The kernel routed it: a packet still going leaves by the interface it is on, in the egress direction.</summary>
    private static unsafe void LeaveByInPort(Batch batch)
    {
        PacketMeta* m = batch.Meta;
        for (int i = 0; i < batch.Count; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue) continue;
            p.Verdict = PacketVerdict.Tx;
            p.OutPort = p.InPort;
            p.Direction = TrafficDirection.Egress;
        }
    }
}
