using Dataplane.Core.Conntrack;
using Dataplane.Core.Drops;
using Dataplane.Core.Nat;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Services;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Creates the conntrack entry of every new connection policy let through (Cilium's ct_create after the
/// policy verdict), with the translation the service / egress gateway / masquerade stages decided: a DNATed
/// connection is keyed by its original tuple (client → VIP) and indexed for replies under backend → client; an
/// SNATed one gets its source port from <see cref="SnatPortAllocator"/> and its source rewritten. A DNAT that
/// must also be SNATed (service reached from outside, remote backend) is two chained entries. Each connection counts
/// against the share of the local endpoint that opened it (the packet's source endpoint); a full table evicts the
/// oldest embryonic connection that endpoint may take and drops with CT_MAP_INSERTION_FAILED (155), counted, never an
/// exception, only when there is none.
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
        var intents = context.Lb.Intents;
        var masq = snapshot.Services.Masquerade;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.CtState != CtState.New || p.Verdict == PacketVerdict.Drop || !PolicyStage.Applies(in p, snapshot.HostFirewall)) continue;
            // An ICMP error is never a connection of its own.
            if ((p.Flags & PacketFlags.IcmpError) != 0) continue;
            seen++;
            ref NatIntent intent = ref intents[i];
            var key = intent.Dnat
                ? new CtKey(Addr.Src(p), intent.OrigAddr, p.SrcPort, intent.OrigPort, p.L4Proto, p.IpVersion)
                : ConntrackStage.KeyOf(in p);
            // Two packets of one new connection in the same batch: the first created it; this one follows it
            // (to the same backend and translated source).
            if (ct.TryLookup(key, out uint existing, out bool reply))
            {
                p.CtIndex = existing;
                p.CtState = TcpTracker.Update(ref ct[existing], p.L4Proto, p.TcpFlags, reply, created: false, now, context.Timeouts);
                if ((ct[existing].Flags & CtFlags.Nat) != 0) ConntrackStage.Translate(ref p, ct, existing, reply, now, context.Timeouts);
                continue;
            }
            uint e;
            if (intent.Dnat)
            {
                var nat = new CtNat(CtNatKind.Dnat, intent.BackendAddr, intent.BackendPort, intent.Cluster);
                // The backend → client tuple must be free, or replies could not tell the connections apart.
                var replyKey = new CtKey(intent.BackendAddr, key.Src, intent.BackendPort, key.SrcPort, key.Proto, key.Family);
                if (ct.TryLookup(replyKey, out _, out _) || !ct.TryInsert(key, nat, now, out e, p.SrcEndpoint))
                {
                    p.Drop(DropReason.CtMapInsertionFailed);
                    continue;
                }
            }
            else if (intent.Snat)
            {
                if (!SnatPortAllocator.TryAllocate(ref p, ct, key, intent.SnatAddr, masq.PortMin, masq.PortMax, now, out e)) continue;
            }
            else if (!ct.TryInsert(key, now, out e, p.SrcEndpoint))
            {
                p.Drop(DropReason.CtMapInsertionFailed);
                continue;
            }
            Created(ref p, ct, e, now, context.Timeouts);
            if (intent.Dnat && intent.Snat)
            {
                // Second leg: the DNATed tuple (client → backend) SNATed to this node.
                var inner = ConntrackStage.KeyOf(in p);
                if (!SnatPortAllocator.TryAllocate(ref p, ct, inner, intent.SnatAddr, masq.PortMin, masq.PortMax, now, out uint e2))
                {
                    ct.Remove(e);
                    p.CtIndex = uint.MaxValue;
                    continue;
                }
                ct[e].Flags |= CtFlags.ChainForward;
                ct[e2].Flags |= CtFlags.ChainReply;
                ct[e2].PolicyRule = p.PolicyRule;
                TcpTracker.Update(ref ct[e2], p.L4Proto, p.TcpFlags, reply: false, created: true, now, context.Timeouts);
            }
        }
        return seen;
    }

    private static void Created(ref PacketMeta p, ConntrackTable ct, uint e, uint now, CtTimeouts timeouts)
    {
        ref CtEntry entry = ref ct[e];
        entry.PolicyRule = p.PolicyRule;
        TcpTracker.Update(ref entry, p.L4Proto, p.TcpFlags, reply: false, created: true, now, timeouts);
        p.CtIndex = e;
    }
}
