using Dataplane.Core.IpCache;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// ipcache: resolves the security identities of both ends of every IP packet still alive. A packet from a
/// local endpoint keeps the identity the endpoint stage gave it (the endpoint's own), one decapsulated from VXLAN
/// the identity its VNI carried (Cilium's encoding); a destination in another cluster (<see cref="PacketMeta.DstCluster"/>)
/// the identity it has there (<see cref="ClusterAddressTable"/>); every other address
/// goes through the ipcache — pods on any node, node IPs (host / remote-node), policy CIDRs, else world.
/// </summary>
public readonly struct IdentityStage : IStage
{
    public static StageId Id => StageId.Identity;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        IpCacheMap ipcache = snapshot.IpCache;
        ClusterAddressTable clusters = snapshot.ClusterRoutes;
        var proxy = snapshot.L7Proxy;
        var tables = context.Proxy;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue || p.IpVersion == 0) continue;
            seen++;
            if (p.IpVersion == 4)
            {
                if (p.SrcEndpoint == 0 && (p.Flags & PacketFlags.TunnelIdentity) == 0) p.SrcIdentity = ipcache.Lookup4(Addr.Src4(p));
                // Another cluster's backend (overlapping pod CIDRs): its identity there, not our address's.
                p.DstIdentity = p.DstCluster != 0 && clusters.TryFind(p.DstCluster, Addr.Dst4(p), out _, out uint id)
                    ? id : ipcache.Lookup4(Addr.Dst4(p));
            }
            else
            {
                if (p.SrcEndpoint == 0 && (p.Flags & PacketFlags.TunnelIdentity) == 0) p.SrcIdentity = ipcache.Lookup6(Addr.Src6(p));
                p.DstIdentity = ipcache.Lookup6(Addr.Dst6(p));
            }
            if (proxy is not null && tables is not null && p.SrcEndpoint == proxy.Endpoint) L7.L7Redirect.FromProxy(ref p, proxy, tables);
        }
        return seen;
    }
}
