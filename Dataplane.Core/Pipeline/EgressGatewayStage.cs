using System.Runtime.CompilerServices;
using Dataplane.Core.Drops;
using Dataplane.Core.EgressGateway;
using Dataplane.Core.Identity;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Egress gateway (Cilium's egress_gw_request_needs_redirect / egress_gw_snat_needed), after identity and before
/// routing: IPv4 traffic from a pod some CiliumEgressGatewayPolicy selects, to a destination outside the cluster
/// (world or CIDR identity) inside the policy's destinationCIDRs and outside its excludedCIDRs, goes through one
/// of the policy's live gateway nodes, picked by rendezvous hashing of the flow's tuple (the same on every node).
/// Picked another node: the packet's next hop is preset to the Tunnel next hop toward that node (routing then
/// hands it to the encapsulation). Picked this node, or arrived here from a remote pod while this node is a live
/// gateway: the new connection is marked for SNAT to the gateway's egress IP (done at conntrack commit). No live
/// gateway: NO_EGRESS_GATEWAY (194). SNATed connections come back through conntrack and do not match again.
/// </summary>
public readonly struct EgressGatewayStage : IStage
{
    public static StageId Id => StageId.EgressGateway;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        EgressGatewayState egw = snapshot.Services.EgressGateway;
        if (!egw.Any) return 0;
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        var intents = context.Lb.Intents;
        EgressPolicy[] policies = egw.Policies;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue || p.IpVersion != 4 || p.CtState is CtState.Reply or CtState.Related
                || (p.Flags & (PacketFlags.IcmpError | PacketFlags.Ndp)) != 0) continue;
            if (!LeavesCluster(p.DstIdentity)) continue;
            ulong mask = egw.Sources.Get(Addr.Src4(p), 4);
            if (mask == 0) continue;
            seen++;
            uint dst = Addr.Dst4(p);
            EgressPolicy? policy = null;
            while (mask != 0)
            {
                int k = System.Numerics.BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
                if (policies[k].Matches(dst, 4)) { policy = policies[k]; break; }
            }
            if (policy is null) continue;
            Gateway[] gateways = policy.Gateways;
            if (p.SrcEndpoint == 0)
            {
                // From a pod on another node, tunnelled here: this node SNATs it if it is one of the live gateways.
                int local = policy.LocalLive();
                if (local >= 0 && p.CtState == CtState.New) MarkSnat(ref intents[i], gateways[local].EgressIp);
                continue;
            }
            int g = policy.Pick((uint)ConntrackStage.KeyOf(in p).Hash());
            if (g < 0) { p.Drop(DropReason.NoEgressGateway); continue; }
            if (gateways[g].Local)
            {
                if (p.CtState == CtState.New) MarkSnat(ref intents[i], gateways[g].EgressIp);
                continue;
            }
            p.NextHop = gateways[g].NextHop;
            p.Flags |= PacketFlags.NextHopPreset;
        }
        return seen;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MarkSnat(ref Services.NatIntent intent, UInt128 egressIp)
    {
        intent.Snat = true;
        intent.SnatAddr = egressIp;
    }

    /// <summary>World or a CIDR identity: a destination outside the cluster (Cilium never redirects in-cluster traffic).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool LeavesCluster(uint identity) => NumericIdentity.IsWorld(identity) || NumericIdentity.IsLocalScope(identity);
}
