using System.Runtime.CompilerServices;
using Dataplane.Core.Counters;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// The stage graph run over each received batch: parse → overlay decap (VXLAN/SRv6) → neighbour responder →
/// endpoint (anti-spoofing) → conntrack lookup (+ NAT of known connections) → service DNAT (new connections) →
/// identity (ipcache) → egress gateway steering → route + rewrite → masquerade decision → policy (new connections)
/// → conntrack create (+ SNAT) → overlay encap → neighbour resolve (MACs found by ARP/ND), then one accounting pass that counts verdicts and emits flow
/// events. The snapshot is
/// loaded once per batch, so a config swap takes effect at the next batch and never mid-batch.
/// </summary>
public sealed class PacketPipeline(SnapshotHolder snapshots)
{
    public SnapshotHolder Snapshots { get; } = snapshots;

    public void Process(Batch batch, WorkerContext context)
    {
        DatapathSnapshot snapshot = Snapshots.Current;
        var c = context.Counters;
        c.Batches++;
        context.NowSeconds = ClockSeconds(batch);
        Run<ParseStage>(batch, snapshot, context);
        Run<OverlayDecapStage>(batch, snapshot, context);
        Run<NeighborStage>(batch, snapshot, context);
        Run<EndpointStage>(batch, snapshot, context);
        // Conntrack ends a window early at a packet that may belong to a connection an earlier packet of the
        // window opens (BatchDependencies); the rest runs as the next window, once that connection is committed,
        // so every packet is judged as if it had arrived alone after the ones before it.
        int total = batch.Count;
        for (int start = 0; start < total;)
        {
            batch.View(start, total - start);
            Run<ConntrackStage>(batch, snapshot, context);
            int window = batch.Count;
            Run<ServiceStage>(batch, snapshot, context);
            Run<IdentityStage>(batch, snapshot, context);
            Run<EgressGatewayStage>(batch, snapshot, context);
            Run<RouteStage>(batch, snapshot, context);
            Run<MasqueradeStage>(batch, snapshot, context);
            Run<PolicyStage>(batch, snapshot, context);
            Run<ConntrackCommitStage>(batch, snapshot, context);
            Run<OverlayEncapStage>(batch, snapshot, context);
            start += window;
        }
        batch.View(0, total);
        Run<NeighborResolveStage>(batch, snapshot, context);
        Account(batch, context);
        context.Conntrack?.Collect(context.NowSeconds, context.CollectBudget);
    }

    /// <summary>
    /// Conntrack's clock: the batch's receive time (the capture's in replay, so replays are deterministic), or
    /// the wall clock when the backend left timestamps unset.
    /// </summary>
    internal static uint ClockSeconds(Batch batch)
    {
        long ts = batch.Count > 0 ? batch[0].Timestamp : 0;
        return ts > 0 ? (uint)(ts / 1_000_000_000) : (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Run<TStage>(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
        where TStage : struct, IStage
    {
        PacketMeta.RunningStage = (byte)TStage.Id;
        int seen = TStage.Process(batch, snapshot, context);
        context.Counters.StagePackets[(int)TStage.Id] += (ulong)seen;
    }

    /// <summary>Counts every packet exactly once by verdict and, when a flow ring is attached, records it.</summary>
    internal static unsafe void Account(Batch batch, WorkerContext context)
    {
        var c = context.Counters;
        FlowRing? ring = context.Flows;
        PacketMeta* m = batch.Meta;
        int n = batch.Count;
        ulong rxBytes = 0, txPackets = 0, txBytes = 0, local = 0;
        bool trace = context.TraceEvents, drops = context.DropEvents;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            rxBytes += p.Length;
            int dir = (byte)p.Direction < WorkerCounters.Directions ? (byte)p.Direction : 0;
            if (p.DropReason != 0 && Policy.PolicyAudit.IsAudited(p.Verdict, p.DropReason)) c.AuditedPackets[dir]++;
            switch (p.Verdict)
            {
                case PacketVerdict.Tx:
                    txPackets++; txBytes += p.Length;
                    c.ForwardPackets[dir]++; c.ForwardBytes[dir] += p.Length;
                    break;
                case PacketVerdict.Local: local++; break;
                case PacketVerdict.Queued: c.QueuedPackets++; break;
                case PacketVerdict.Drop: CountDrop(c, ref p, dir); break;
                default:
                    // A packet no stage decided on is a bug in the graph; never let it vanish uncounted.
                    p.Drop(Drops.DropReason.InvalidPacketDropped);
                    CountDrop(c, ref p, dir);
                    break;
            }
            ulong seq = context.NextSequence++;
            if (ring != null && (p.Verdict == PacketVerdict.Drop ? drops : trace)) Emit(ring, ref p, seq);
        }
        c.RxPackets += (ulong)n; c.RxBytes += rxBytes;
        c.TxPackets += txPackets; c.TxBytes += txBytes; c.LocalPackets += local;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CountDrop(WorkerCounters c, ref PacketMeta p, int dir)
    {
        byte r = (byte)p.DropReason;
        c.Drops[r]++; c.DropBytes[r] += p.Length;
        c.DirectionalDrops[dir * 256 + r]++; c.DirectionalDropBytes[dir * 256 + r] += p.Length;
        c.StageDrops[p.DecidedBy % WorkerCounters.MaxStages]++;
    }

    private static unsafe void Emit(FlowRing ring, ref PacketMeta p, ulong seq)
    {
        ref FlowEvent e = ref ring.TryClaim(out bool ok);
        if (!ok) return;
        e.Sequence = seq;
        e.TimeNanos = p.Timestamp;
        e.IpVersion = p.IpVersion;
        e.Src = Addr.Src(p);
        e.Dst = Addr.Dst(p);
        if (p.Length >= HeaderSizes.Ethernet) { e.DstMac = Addr.ReadMac(p.Data); e.SrcMac = Addr.ReadMac(p.Data + 6); }
        else { e.DstMac = 0; e.SrcMac = 0; }
        e.SrcIdentity = p.SrcIdentity; e.DstIdentity = p.DstIdentity;
        e.SrcEndpoint = p.SrcEndpoint; e.DstEndpoint = p.DstEndpoint;
        e.PolicyRule = p.PolicyRule; e.IngressPolicyRule = p.IngressPolicyRule;
        e.SrcPort = p.SrcPort; e.DstPort = p.DstPort;
        e.InPort = p.InPort; e.OutPort = p.OutPort;
        e.Length = p.Length; e.EtherType = p.EtherType;
        e.L4Proto = p.L4Proto; e.TcpFlags = p.TcpFlags; e.IcmpType = p.IcmpType; e.IcmpCode = p.IcmpCode;
        e.Verdict = p.Verdict; e.DropReason = p.DropReason; e.Direction = p.Direction; e.CtState = p.CtState;
        e.Flags = p.Flags;
        e.Encrypted = p.Encrypted;
        ring.Publish();
    }
}
