using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;
using Dataplane.Core.Overlay;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Right after parsing: terminates the overlay. A VXLAN packet addressed to one of this node's underlay addresses
/// must come from a known peer (else 172) with a valid VNI (else 183); it is stripped to its inner frame and
/// parsed again, and the source identity is the VNI (Cilium's encoding), marked so the identity stage keeps it.
/// An IPv6 packet addressed to a local SID runs that SID's behaviour (<see cref="Srv6Endpoint"/>). Everything
/// else passes untouched; with no overlay configured the stage costs one check per batch.
/// </summary>
public readonly struct OverlayDecapStage : IStage
{
    public static StageId Id => StageId.OverlayDecap;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        OverlayState overlay = snapshot.Overlay;
        bool vxlan = overlay.LocalAddresses.Count > 0, srv6 = overlay.HasSids;
        if (!vxlan && !srv6) return 0;
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue) continue;
            if ((p.Flags & PacketFlags.Vxlan) != 0 && vxlan) { seen++; Vxlan(ref p, overlay); }
            else if (p.IpVersion == 6 && srv6) { seen++; Srv6Endpoint.Process(ref p, overlay); }
        }
        return seen;
    }

    private static void Vxlan(ref PacketMeta p, OverlayState overlay)
    {
        UInt128 dst = p.IpVersion == 4 ? AddressIndex.V4(Addr.Dst4(p)) : Addr.Dst6(p);
        if (overlay.LocalAddresses.Find(dst) < 0) return;         // transit VXLAN: routed like any UDP
        UInt128 src = p.IpVersion == 4 ? AddressIndex.V4(Addr.Src4(p)) : Addr.Src6(p);
        int peer = overlay.PeerIndex.Find(src);
        if (peer < 0) { p.Drop(DropReason.UnknownSender); return; }
        uint fixedVni = overlay.Peers[peer].FixedVni;
        uint vni = p.Vni;
        if (fixedVni != 0 ? vni != fixedVni : !overlay.IsValidVni(vni)) { p.Drop(DropReason.InvalidVni); return; }
        if (!Decapsulation.Reparse(ref p, p.InnerOffset)) return;
        if (fixedVni == 0)
        {
            p.SrcIdentity = vni;
            p.Flags |= PacketFlags.TunnelIdentity;
        }
    }
}
