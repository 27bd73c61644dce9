using System.Runtime.CompilerServices;
using Dataplane.Core.Checksums;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// IP forwarding: LPM on the destination (then, inside our pod CIDR, the pods' address table; for another cluster's
/// backend, <see cref="ClusterAddressTable"/> by (cluster, address) — none known: 160), then act on the
/// next hop — hand to the host, deliver to a local pod,
/// send to a neighbour (MAC known, or marked for the neighbour resolve stage), or mark for the overlay encap stage (Tunnel) — with TTL/hop-limit decrement (incremental IPv4 checksum), VLAN tags removed and the
/// Ethernet addresses rewritten. Multicast and link-local destinations go to the host stack.
/// </summary>
public readonly struct RouteStage : IStage
{
    public static StageId Id => StageId.Route;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        Lpm4 routes4 = snapshot.Routes4;
        Lpm6 routes6 = snapshot.Routes6;
        NextHop[] nextHops = snapshot.NextHops;
        EndpointHosts pods = snapshot.LocalHosts;
        ClusterAddressTable clusters = snapshot.ClusterRoutes;
        bool resolves = context.Neighbors is not null;

        // Pass 1: every IPv4 destination of the batch into one bulk LPM lookup (many cache misses in flight);
        // IPv6 and everything that is not routed is settled here directly.
        uint* dst4 = stackalloc uint[Batch.MaxSize];
        uint* nh4 = stackalloc uint[Batch.MaxSize];
        byte* idx4 = stackalloc byte[Batch.MaxSize];
        uint* result = stackalloc uint[Batch.MaxSize];
        int count4 = 0;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue) continue;
            seen++;
            // Steered before routing (egress gateway): the next hop is already chosen.
            if ((p.Flags & PacketFlags.NextHopPreset) != 0) { result[i] = p.NextHop; continue; }
            // Another cluster's backend (overlapping pod CIDRs): routed by (cluster, address) to its node's tunnel.
            if (p.DstCluster != 0 && p.IpVersion == 4)
            {
                if (clusters.TryFind(p.DstCluster, Addr.Dst4(p), out uint hop, out _)) result[i] = hop;
                else p.Drop(DropReason.NoTunnelOrEncapsulationEndpoint);
                continue;
            }
            if (p.IpVersion == 4)
            {
                uint dst = Addr.Dst4(p);
                if (Addr.IsMulticastOrBroadcast4(dst)) { p.Verdict = PacketVerdict.Local; continue; }
                idx4[count4] = (byte)i;
                dst4[count4++] = dst;
            }
            else if (p.IpVersion == 6)
            {
                UInt128 dst = Addr.Dst6(p);
                if (Addr.IsMulticast6(dst) || Addr.IsLinkLocal6(dst)) { p.Verdict = PacketVerdict.Local; continue; }
                result[i] = routes6.TryLookup(dst, out uint nh) ? nh : Lpm6.NotFound;
            }
            else p.Verdict = PacketVerdict.Local;
        }
        routes4.LookupBulk(new ReadOnlySpan<uint>(dst4, count4), new Span<uint>(nh4, count4));
        for (int k = 0; k < count4; k++) result[idx4[k]] = nh4[k];

        // Pass 2: act on the next hops.
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue) continue;
            uint nh = result[i];
            if (nh == Lpm4.NotFound) { p.Drop(DropReason.FibLookupFailed); continue; }
            // ECMP: the flow hash picks a member, so every packet of a flow leaves through the same neighbour.
            if (nextHops[nh].Kind == NextHopKind.Multipath) nh = nextHops[nh].Endpoint + p.FlowHash % nextHops[nh].Port;
            // Our pod CIDR: the pod with that address, if there is one (an endpoints-map lookup, not a host route).
            else if (nextHops[nh].Kind == NextHopKind.NoEndpoint)
            {
                bool pod = p.IpVersion == 4 ? pods.TryFind4(Addr.Dst4(p), out uint ep) : pods.TryFind6(Addr.Dst6(p), out ep);
                if (pod) nh = ep;
            }
            p.NextHop = nh;
            Forward(ref p, in nextHops[nh], nh, resolves);
        }
        return seen;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Forward(ref PacketMeta p, in NextHop nh, uint index, bool resolves)
    {
        switch (nh.Kind)
        {
            case NextHopKind.Host: p.Verdict = PacketVerdict.Local; return;
            case NextHopKind.Unresolved: p.Drop(DropReason.FibLookupFailed); return;
            case NextHopKind.NoEndpoint: p.Drop(DropReason.NoMatchingLocalContainerFound); return;
            // Without a resolver (replay, the eBPF program's twin) a MAC found at run time is never found.
            case NextHopKind.Glean or NextHopKind.Gateway when !resolves: p.Drop(DropReason.FibLookupFailed); return;
        }
        byte* ip = p.Data + p.L3Offset;
        if (p.IpVersion == 4)
        {
            if (ip[8] <= 1) { p.Drop(DropReason.TtlExceeded); return; }
            // TTL and protocol share one 16-bit word of the header: patch the checksum for that word only.
            ushort oldWord = (ushort)((ip[8] << 8) | ip[9]);
            ip[8]--;
            ushort csum = (ushort)((ip[10] << 8) | ip[11]);
            csum = InetChecksum.Update16(csum, oldWord, (ushort)(oldWord - 0x100));
            ip[10] = (byte)(csum >> 8); ip[11] = (byte)csum;
        }
        else
        {
            if (ip[7] <= 1) { p.Drop(DropReason.TtlExceeded); return; }
            ip[7]--;
        }
        if (p.L3Offset != HeaderSizes.Ethernet) StripVlan(ref p);
        if (nh.Kind == NextHopKind.Tunnel)
        {
            // Policy and conntrack see the inner packet; the overlay encap stage adds the outer headers and the
            // underlay Ethernet header last. OutPort is the underlay port the next hop names (the encap stage
            // sets the peer's own).
            p.NextHop = index;
            p.Flags |= PacketFlags.TunnelEncap;
            p.OutPort = nh.Port;
            p.DstEndpoint = 0;
            p.Verdict = PacketVerdict.Tx;
            return;
        }
        Unsafe.WriteUnaligned(p.Data, nh.EthWord0);
        Unsafe.WriteUnaligned(p.Data + 8, nh.EthWord1);
        if (nh.IsDynamic)
        {
            // The destination MAC is written by the neighbour resolve stage, last: the gateway's, or for a connected
            // subnet (glean) the destination's own.
            bool glean = nh.Kind == NextHopKind.Glean;
            p.NeighborFamily = glean ? p.IpVersion : nh.ViaIsIpv6 ? (byte)6 : (byte)4;
            p.NeighborAddress = glean ? Addr.Dst(p) : nh.Via;
        }
        p.OutPort = nh.Port;
        p.DstEndpoint = nh.Endpoint;
        if (nh.Kind == NextHopKind.Endpoint && p.SrcEndpoint == 0) p.Direction = TrafficDirection.Ingress;
        p.Verdict = PacketVerdict.Tx;
    }

    /// <summary>Routed packets leave untagged: slide the MAC addresses over the tags and shorten the front.</summary>
    private static unsafe void StripVlan(ref PacketMeta p)
    {
        int tagBytes = p.L3Offset - HeaderSizes.Ethernet;
        byte* d = p.Data;
        Buffer.MemoryCopy(d, d + tagBytes, 12, 12);
        d[tagBytes + 12] = (byte)(p.EtherType >> 8);
        d[tagBytes + 13] = (byte)p.EtherType;
        p.Pull(tagBytes);
        p.L3Offset -= (ushort)tagBytes;
        p.L4Offset -= (ushort)tagBytes;
        p.PayloadOffset -= (ushort)tagBytes;
        if (p.SrhOffset != 0) p.SrhOffset -= (ushort)tagBytes;
        if (p.InnerOffset != 0) p.InnerOffset -= (ushort)tagBytes;
        p.Flags &= ~(PacketFlags.Vlan | PacketFlags.QinQ);
        p.VlanId = 0;
    }
}
