using Dataplane.Core.Drops;
using Dataplane.Core.Neighbors;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// The last step before transmission for packets whose next hop's MAC is found at run time (routing or the overlay
/// encap stage set <see cref="PacketMeta.NeighborFamily"/>): the destination MAC comes from the shared neighbour
/// table; without a usable entry the packet is copied to the resolver (which solicits the neighbour and holds a few
/// packets per neighbour, like the kernel's unres_qlen) and leaves the batch as <see cref="PacketVerdict.Queued"/>.
/// When the resolver cannot take it (its ring is full, the frame too long) the packet is dropped as Cilium drops a
/// packet without a neighbour: FIB_LOOKUP_FAILED (169). One table lookup per such packet, no allocation, no lock.
/// </summary>
public readonly struct NeighborResolveStage : IStage
{
    public static StageId Id => StageId.NeighborResolve;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        WorkerNeighbors? nb = context.Neighbors;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.NeighborFamily == 0 || p.Verdict != PacketVerdict.Tx) continue;
            seen++;
            bool v6 = p.NeighborFamily == 6;
            p.NeighborFamily = 0;
            if (nb is null) { p.Drop(DropReason.FibLookupFailed); continue; }
            if (nb.Table.TryGetMac(p.OutPort, v6, p.NeighborAddress, out ulong mac))
            {
                Addr.WriteMac(p.Data, mac);
                continue;
            }
            if (nb.Post(FrameKind.Miss, p.OutPort, v6, p.NeighborAddress, 0, new ReadOnlySpan<byte>(p.Data, p.Length)))
                p.Verdict = PacketVerdict.Queued;
            else
                p.Drop(DropReason.FibLookupFailed);
        }
        return seen;
    }
}
