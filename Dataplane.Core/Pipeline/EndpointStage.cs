using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Packets received on a pod's port belong to that endpoint. Like Cilium's anti-spoofing in bpf_lxc, a pod may
/// only send from its own addresses (link-local and unspecified IPv6 sources are allowed for NDP/DAD);
/// anything else is dropped with INVALID_SOURCE_IP (132).
/// </summary>
public readonly struct EndpointStage : IStage
{
    public static StageId Id => StageId.Endpoint;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        uint[] portEndpoints = snapshot.PortEndpoints;
        var endpoints = snapshot.Endpoints;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue) continue;
            seen++;
            if ((uint)p.InPort >= (uint)portEndpoints.Length) { p.Drop(DropReason.InvalidPacketDropped); continue; }
            uint ep = portEndpoints[p.InPort];
            if (ep == 0) continue;
            p.SrcEndpoint = ep;
            p.Direction = TrafficDirection.Egress;
            var info = endpoints[ep]!;
            p.SrcIdentity = info.Identity;
            if (p.IpVersion == 4)
            {
                if (!info.HasIpv4 || Addr.Src4(p) != info.Ipv4) p.Drop(DropReason.InvalidSourceIp);
            }
            else if (p.IpVersion == 6)
            {
                var src = Addr.Src6(p);
                if (src == UInt128.Zero || Addr.IsLinkLocal6(src)) continue;
                if (!info.HasIpv6 || src != info.Ipv6) p.Drop(DropReason.InvalidSourceIp);
            }
        }
        return seen;
    }
}
