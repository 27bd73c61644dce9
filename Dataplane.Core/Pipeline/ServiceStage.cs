using System.Runtime.CompilerServices;
using Dataplane.Core.Drops;
using Dataplane.Core.Nat;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Routing;
using Dataplane.Core.Services;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Service load balancing for new connections (Cilium's lb4_lookup_service / lb4_local), before identity and
/// routing so both — and policy — see the backend: a TCP/UDP packet to a frontend (ClusterIP, NodePort on a node
/// address, LoadBalancer ingress IP, external IP) gets a backend from the frontend's set — the client's
/// sessionAffinity binding if it still points at an active backend, else the Maglev ring slot of the flow's hash
/// or a random backend — and is DNATed to it. A frontend without eligible backends (none, or none on this node
/// under a Local traffic policy) drops with SERVICE_BACKEND_NOT_FOUND (158). A backend in another Cluster Mesh
/// cluster with overlapping pod CIDRs is marked to be reached by (cluster, address) and SNATed to this node; so is a
/// TCP/UDP connection to another cluster's pod under its translated range (<see cref="ClusterNetmap"/>), DNATed first. Established connections were
/// translated by <see cref="ConntrackStage"/> and keep their backend. Needs a conntrack table (replies are
/// reverse-translated from it); without one, services are not translated.
/// </summary>
public readonly struct ServiceStage : IStage
{
    public static StageId Id => StageId.Service;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        var lb = context.Lb;
        NatIntent[] intents = lb.Intents;
        // Every later NAT stage reads this batch's intents: start them clean.
        new Span<NatIntent>(intents, 0, n).Clear();
        ServiceState state = snapshot.Services;
        ClusterNetmap netmap = snapshot.ClusterNetmap;
        if ((state.Frontends.Count == 0 && netmap.Count == 0) || context.Conntrack is null) return 0;
        uint now = context.NowSeconds;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue || p.CtState != CtState.New) continue;
            if (p.L4Proto is not (IpProtocols.Tcp or IpProtocols.Udp)
                || (p.Flags & (PacketFlags.IcmpError | PacketFlags.LaterFragment)) != 0) continue;
            seen++;
            UInt128 dst = Addr.Dst(p);
            ref readonly Frontend f = ref state.Frontends.Find(dst, p.DstPort, p.L4Proto, p.IpVersion);
            if (Unsafe.IsNullRef(in f))
            {
                if (netmap.Count != 0 && p.IpVersion == 4) ToTranslatedPod(ref p, ref intents[i], netmap, snapshot.Overlay.IcmpSource4);
                continue;
            }
            BackendSet set = state.Sets[f.Set];
            Backend[] backends = set.Backends;
            if (backends.Length == 0) { p.Drop(DropReason.ServiceBackendNotFound); continue; }
            int b = Select(ref p, set, state.Services[f.Service], lb, now);
            ref readonly Backend be = ref backends[b];
            ref NatIntent intent = ref intents[i];
            intent.Dnat = true;
            intent.OrigAddr = dst; intent.OrigPort = p.DstPort;
            intent.BackendAddr = be.Addr; intent.BackendPort = be.Port;
            NatRewrite.Destination(ref p, be.Addr, be.Port);
            if (be.Cluster != 0) ToOtherCluster(ref p, ref intent, be.Cluster, snapshot.Overlay.IcmpSource4);
        }
        return seen;
    }

    /// <summary>
    /// A backend in another cluster whose pod CIDR may overlap ours (Cilium's cluster-aware addressing with
    /// inter-cluster SNAT): identity and routing look the backend up by (cluster, address) — the tunnel to its
    /// node — and the connection is SNATed to this node's tunnel address, which that cluster routes back through
    /// the tunnel: our pod's own address may be one of its pods'.
    /// </summary>
    /// <summary>
    /// An address in another cluster's translated pod range (<see cref="ClusterNetmap"/>): DNATed to the pod's real
    /// address, port kept, and reached there as a backend of that cluster is.
    /// </summary>
    private static void ToTranslatedPod(ref PacketMeta p, ref NatIntent intent, ClusterNetmap netmap, uint tunnelSource)
    {
        uint dst = Addr.Dst4(p);
        if (!netmap.TryMap(dst, out uint real, out byte cluster)) return;
        intent.Dnat = true;
        intent.OrigAddr = dst; intent.OrigPort = p.DstPort;
        intent.BackendAddr = real; intent.BackendPort = p.DstPort;
        NatRewrite.Destination(ref p, real, p.DstPort);
        ToOtherCluster(ref p, ref intent, cluster, tunnelSource);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ToOtherCluster(ref PacketMeta p, ref NatIntent intent, byte cluster, uint tunnelSource)
    {
        p.DstCluster = cluster;
        intent.Cluster = cluster;
        intent.Snat = true;
        intent.SnatAddr = tunnelSource;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Select(ref PacketMeta p, BackendSet set, ServiceInfo service, LbWorkerState lb, uint now)
    {
        Backend[] backends = set.Backends;
        uint timeout = service.AffinityTimeout;
        UInt128 client = 0;
        if (timeout != 0)
        {
            client = Addr.Src(p);
            // The binding holds while its backend is still active; a terminating or removed one is replaced.
            if (lb.Affinity.TryGet(client, p.IpVersion, service.Id, now, out var addr, out ushort port))
            {
                int bound = set.IndexOf(addr, port);
                if (bound >= 0)
                {
                    lb.Affinity.Set(client, p.IpVersion, service.Id, addr, port, now, now + timeout);
                    return bound;
                }
            }
        }
        int[] ring = set.Ring;
        int b = ring.Length > 0
            ? ring[(int)(ConntrackStage.KeyOf(in p).Hash() % (ulong)ring.Length)]
            : (int)(lb.NextRandom() % (uint)backends.Length);
        if (timeout != 0) lb.Affinity.Set(client, p.IpVersion, service.Id, backends[b].Addr, backends[b].Port, now, now + timeout);
        return b;
    }
}
