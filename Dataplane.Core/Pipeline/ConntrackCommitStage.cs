using Dataplane.Core.Conntrack;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Creates the conntrack entry of every new connection policy let through (Cilium's ct_create after the
/// policy verdict). A full table is a counted drop with CT_MAP_INSERTION_FAILED (155), never an exception.
/// </summary>
public readonly struct ConntrackCommitStage : IStage
{
    public static StageId Id => StageId.ConntrackCommit;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        ConntrackTable? ct = context.Conntrack;
        if (ct is null) return 0;
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        uint now = context.NowSeconds;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.CtState != CtState.New || p.Verdict == PacketVerdict.Drop) continue;
            // An ICMP error is never a connection of its own.
            if ((p.Flags & PacketFlags.IcmpError) != 0) continue;
            seen++;
            var key = ConntrackStage.KeyOf(in p);
            // Two packets of one new connection in the same batch: the first created it.
            if (ct.TryLookup(key, out uint existing, out bool reply))
            {
                p.CtIndex = existing;
                p.CtState = TcpTracker.Update(ref ct[existing], p.L4Proto, p.TcpFlags, reply, created: false, now, context.Timeouts);
                continue;
            }
            if (!ct.TryInsert(key, now, out uint e))
            {
                p.Drop(DropReason.CtMapInsertionFailed);
                continue;
            }
            ref CtEntry entry = ref ct[e];
            entry.PolicyRule = p.PolicyRule;
            TcpTracker.Update(ref entry, p.L4Proto, p.TcpFlags, reply: false, created: true, now, context.Timeouts);
            p.CtIndex = e;
        }
        return seen;
    }
}
