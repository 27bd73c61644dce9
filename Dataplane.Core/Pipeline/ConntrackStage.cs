using System.Runtime.CompilerServices;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Conntrack lookup, before policy (Cilium's ct_lookup in bpf_lxc): a packet of a known connection is
/// Established (forward) or Reply, has its state and timer advanced, and skips policy; anything else is New
/// and goes to policy, then to <see cref="ConntrackCommitStage"/>. Without a table the stage does nothing.
/// </summary>
public readonly struct ConntrackStage : IStage
{
    public static StageId Id => StageId.Conntrack;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        ConntrackTable? ct = context.Conntrack;
        if (ct is null) return 0;
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        uint now = context.NowSeconds;
        var timeouts = context.Timeouts;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (!PolicyStage.Applies(in p)) continue;
            seen++;
            var key = KeyOf(in p);
            if (ct.TryLookup(key, out uint e, out bool reply))
            {
                ref CtEntry entry = ref ct[e];
                p.CtIndex = e;
                p.CtState = TcpTracker.Update(ref entry, p.L4Proto, p.TcpFlags, reply, created: false, now, timeouts);
                if (!reply) p.PolicyRule = entry.PolicyRule;
            }
            else p.CtState = CtState.New;
        }
        return seen;
    }

    /// <summary>
    /// The connection tuple of a packet. ICMP echo request and reply carry the identifier in both port
    /// fields (type is left out), as Cilium keys them, so the reply finds the request's entry.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CtKey KeyOf(in PacketMeta p)
    {
        ushort sport = p.SrcPort, dport = p.DstPort;
        if (p.L4Proto is IpProtocols.Icmp or IpProtocols.Icmpv6)
        {
            bool echo = p.L4Proto == IpProtocols.Icmp ? p.IcmpType is 0 or 8 : p.IcmpType is 128 or 129;
            if (echo) dport = sport;
        }
        return new CtKey(Addr.Src(p), Addr.Dst(p), sport, dport, p.L4Proto, p.IpVersion);
    }
}
