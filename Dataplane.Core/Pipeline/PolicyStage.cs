using System.Runtime.CompilerServices;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Policy;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Policy enforcement once routing has resolved the destination: the egress policy of a local source
/// endpoint against the destination identity, then the ingress policy of a local destination endpoint
/// against the source identity (bpf_lxc's two hooks). No allow → POLICY_DENIED (133); an explicit deny →
/// POLICY_DENY (181). Neighbour discovery is never subject to policy.
/// With a conntrack table only new connections are evaluated (<see cref="ConntrackStage"/> marks the rest);
/// without one, every packet is.
/// </summary>
public readonly struct PolicyStage : IStage
{
    public static StageId Id => StageId.Policy;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        // L7 rules: allowed connections through an entry carrying them go to the node's proxy (needs conntrack).
        var proxy = context.Conntrack is null ? null : snapshot.L7Proxy;
        var tables = context.Proxy;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (!Applies(in p, snapshot.HostFirewall)) continue;
            // Packets of a tracked connection were decided when it was created; replies pass.
            if (p.CtState is CtState.Established or CtState.Reply or CtState.Related) continue;
            seen++;
            var v = Evaluate(ref p, snapshot);
            if (v == PolicyVerdict.Denied) p.Drop(DropReason.PolicyDeny);
            else if (v == PolicyVerdict.NoAllow) p.Drop(DropReason.PolicyDenied);
            else if (proxy is not null && tables is not null) L7.L7Redirect.Apply(ref p, ref context.Lb.Intents[i], proxy, tables, snapshot.Policy.Rules);
        }
        return seen;
    }

    /// <summary>
    /// Which packets policy (and so conntrack) looks at: IP packets being forwarded, packets from a pod to this
    /// host's own addresses (egress to the host identity) and, with the host firewall on, every packet to them
    /// (the host endpoint's ingress). Neighbour discovery never is (Cilium passes NDP through its host firewall,
    /// icmp6_host_handle).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Applies(in PacketMeta p, bool hostFirewall)
    {
        if (p.IpVersion == 0 || (p.Flags & PacketFlags.Ndp) != 0) return false;
        return p.Verdict == PacketVerdict.Tx
            || (p.Verdict == PacketVerdict.Local && p.DstIdentity == Identity.NumericIdentity.Host && (p.SrcEndpoint != 0 || hostFirewall));
    }

    /// <summary>
    /// The policy verdict of a new flow: egress of the source endpoint, then ingress of the destination
    /// endpoint. Fills <see cref="PacketMeta.PolicyRule"/> / <see cref="PacketMeta.IngressPolicyRule"/> and, when
    /// the ingress side decides a drop, sets the direction to ingress. Allocation-free.
    /// The host endpoint (slot <see cref="HostEndpoint.PolicySlot"/>) is the source of a packet from the host's
    /// own addresses and the destination of one handed to the host, as in Cilium's lib/host_firewall.h: egress
    /// only for packets from host IPs, ingress only for packets to host IPs, and traffic from the host to itself
    /// is never judged (it never leaves the host there). A pod talking to the host passes the pod's egress and the
    /// host's ingress (bpf_lxc hands such packets to the host policy program); the host talking to a pod, the
    /// host's egress and the pod's ingress. With the host endpoint in policy audit mode
    /// (<see cref="DatapathSnapshot.HostPolicyAudit"/>), what the host's own maps would drop passes instead, marked
    /// audited (<see cref="PolicyAudit"/>); a pod's policy still drops.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PolicyVerdict Evaluate(ref PacketMeta p, DatapathSnapshot snapshot)
    {
        byte proto = p.L4Proto;
        ushort port = (p.Flags & PacketFlags.LaterFragment) != 0 ? (ushort)0
            : proto is IpProtocols.Icmp or IpProtocols.Icmpv6 ? p.IcmpType : p.DstPort;
        var result = PolicyVerdict.NotEnforced;
        const uint host = Identity.NumericIdentity.Host;
        bool selfHost = p.SrcIdentity == host && p.DstIdentity == host;
        // Slot 0 is the host endpoint's (unenforced without host policies): the source when the packet comes from
        // the host's addresses and from no pod.
        if ((p.SrcEndpoint != 0 || (p.SrcIdentity == host && !selfHost)) && p.SrcEndpoint < (uint)snapshot.EgressPolicy.Length)
        {
            result = snapshot.EgressPolicy[p.SrcEndpoint].Lookup(p.DstIdentity, proto, port, out uint rule);
            p.PolicyRule = rule;
            if (result < 0)
            {
                if (p.SrcEndpoint != HostEndpoint.PolicySlot || !snapshot.HostPolicyAudit) { p.Direction = TrafficDirection.Egress; return result; }
                // The host endpoint in audit mode: what its egress policy would drop passes, marked.
                PolicyAudit.Record(ref p, result, TrafficDirection.Egress);
                result = PolicyVerdict.NotEnforced;
            }
        }
        // The destination is the host endpoint when the packet is handed to the host's addresses.
        bool toHost = p.Verdict == PacketVerdict.Local && p.DstIdentity == host && !selfHost;
        if ((p.DstEndpoint != 0 || toHost) && p.DstEndpoint < (uint)snapshot.IngressPolicy.Length)
        {
            var v = snapshot.IngressPolicy[p.DstEndpoint].Lookup(p.SrcIdentity, proto, port, out uint rule);
            p.IngressPolicyRule = rule;
            if (v < 0)
            {
                if (p.DstEndpoint != HostEndpoint.PolicySlot || !snapshot.HostPolicyAudit) { p.Direction = TrafficDirection.Ingress; return v; }
                PolicyAudit.Record(ref p, v, TrafficDirection.Ingress);
            }
            else if (v == PolicyVerdict.Allowed) result = v;
        }
        var workloads = snapshot.Policy.Workloads;
        return workloads.Count == 0 ? result : EvaluateWorkloads(ref p, workloads, proto, port, result);
    }

    /// <summary>
    /// A gateway's external workloads: the egress policy of the source workload (traffic entering the mesh), then
    /// the ingress policy of the destination workload, for a packet with no local endpoint on that side.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static PolicyVerdict EvaluateWorkloads(ref PacketMeta p, WorkloadPolicies workloads, byte proto, ushort port, PolicyVerdict result)
    {
        int src = p.SrcEndpoint == 0 ? workloads.IndexOf(p.SrcIdentity) : -1;
        if (src >= 0)
        {
            var v = workloads.Egress[src].Lookup(p.DstIdentity, proto, port, out uint rule);
            p.PolicyRule = rule;
            if (v < 0) { p.Direction = TrafficDirection.Egress; return v; }
            if (v == PolicyVerdict.Allowed) result = v;
        }
        int dst = p.DstEndpoint == 0 ? workloads.IndexOf(p.DstIdentity) : -1;
        if (dst >= 0)
        {
            var v = workloads.Ingress[dst].Lookup(p.SrcIdentity, proto, port, out uint rule);
            p.IngressPolicyRule = rule;
            if (v < 0) { p.Direction = TrafficDirection.Ingress; return v; }
            if (v == PolicyVerdict.Allowed) result = v;
        }
        return result;
    }
}
