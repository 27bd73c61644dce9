using Dataplane.Core.Conntrack;
using Dataplane.Core.Drops;
using Dataplane.Core.Identity;
using Dataplane.Core.Nat;
using Dataplane.Core.Packets;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Core.Overlay;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Encapsulates every packet routing marked for a tunnel (<see cref="PacketFlags.TunnelEncap"/>), after policy
/// and conntrack have seen the inner packet. The tunnel is found by the next hop's endpoint address, so any
/// Tunnel next hop works — pod CIDRs of remote nodes, SRv6 egress policies, egress-gateway steering — as long as
/// the endpoint is a known peer (else 160). VXLAN carries the source identity in the VNI as Cilium does (or the
/// peer's fixed VNI); SRv6 uses the peer's SID list for the inner family (none → 185). A packet that would not fit
/// the underlay MTU gets an ICMP fragmentation-needed / packet-too-big back instead, quoting it as its sender sent it
/// (before any service or SNAT translation). With encryption in strict mode, a tunnel to a node that has no
/// WireGuard key is refused (195): the host encrypts tunnel packets to keyed nodes as they leave the underlay port.
/// </summary>
public readonly struct OverlayEncapStage : IStage
{
    public static StageId Id => StageId.OverlayEncap;

    /// <summary>What WireGuard adds around a tunnel packet at most: outer IPv4 20 / IPv6 40, UDP 8, header 16, padding ≤ 15, tag 16.</summary>
    public const int WireGuardOverhead4 = 75, WireGuardOverhead6 = 95;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        OverlayState overlay = snapshot.Overlay;
        NextHop[] nextHops = snapshot.NextHops;
        // Strict mode (Cilium's encryption.strictMode): a tunnel to a node without a WireGuard key would leave in clear.
        AddressIndex? strict = snapshot.Encryption is { Enabled: true, Strict: true } e ? e.Endpoints : null;
        // Tunnel endpoints the host's WireGuard device encrypts to (their packets are marked for flows), null when off.
        AddressIndex? keyed = snapshot.Encryption.Enabled ? snapshot.Encryption.Endpoints : null;
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Tx || (p.Flags & PacketFlags.TunnelEncap) == 0) continue;
            seen++;
            Encap(ref p, overlay, nextHops, context.Neighbors is not null, context.Conntrack, strict, keyed);
        }
        return seen;
    }

    private static unsafe void Encap(ref PacketMeta p, OverlayState overlay, NextHop[] nextHops, bool resolves, ConntrackTable? ct, AddressIndex? strict, AddressIndex? keyed)
    {
        if (p.NextHop >= (uint)nextHops.Length) { p.Drop(DropReason.NoTunnelOrEncapsulationEndpoint); return; }
        ref readonly NextHop nh = ref nextHops[p.NextHop];
        UInt128 key = nh.TunnelIsIpv6 ? nh.TunnelEndpoint : AddressIndex.V4((uint)nh.TunnelEndpoint);
        int peer = overlay.PeerIndex.Find(key);
        if (peer < 0) { p.Drop(DropReason.NoTunnelOrEncapsulationEndpoint); return; }
        bool encrypts = keyed is not null && keyed.Find(key) >= 0;
        if (strict is not null && !encrypts) { p.Drop(DropReason.UnencryptedTraffic); return; }
        ref readonly TunnelPeer t = ref overlay.Peers[peer];
        int wg = keyed is null ? 0 : t.OuterIpv6 ? WireGuardOverhead6 : WireGuardOverhead4;
        // An underlay next hop whose MAC is found at run time: resolved after encap, or (no resolver) never.
        bool dynamic = (t.EthWord0 & 0xFFFF_FFFF_FFFFUL) == 0;
        if (dynamic && (!resolves || t.NeighborFamily == 0)) { p.Drop(DropReason.FibLookupFailed); return; }

        byte* ip = p.Data + p.L3Offset;
        int innerL3 = p.IpVersion == 4 ? (ip[2] << 8) | ip[3] : Parsing.HeaderSizes.Ipv6 + ((ip[4] << 8) | ip[5]);
        if (t.Mode == TunnelMode.Vxlan)
        {
            int overhead = (t.OuterIpv6 ? OverlayState.VxlanOverhead6 : OverlayState.VxlanOverhead4) + wg;
            // The outer IP packet is outer IP + UDP + VXLAN + inner Ethernet + inner IP: the inner IP plus 50/70.
            if (innerL3 + overhead > t.Mtu)
            {
                AsSent(ref p, ct);
                IcmpTooBig.Reply(ref p, overlay, t.Mtu - overhead);
                return;
            }
            uint vni = t.FixedVni != 0 ? t.FixedVni
                : p.SrcIdentity is > 0 and < (1u << 24) ? p.SrcIdentity : NumericIdentity.World;
            p.Encrypted = encrypts;
            Encapsulation.Vxlan(ref p, in t, vni, innerL3);
            if (dynamic) MarkNeighbor(ref p, in t);
            return;
        }
        byte[]? template = p.IpVersion == 4 ? t.Srv6Template4 : t.Srv6Template6;
        if (template is null) { p.Drop(DropReason.NoSid); return; }
        if (innerL3 + template.Length + wg > t.Mtu)
        {
            AsSent(ref p, ct);
            IcmpTooBig.Reply(ref p, overlay, t.Mtu - template.Length - wg);
            return;
        }
        p.Encrypted = encrypts;
        Encapsulation.Srv6(ref p, in t, template, innerL3);
        if (dynamic) MarkNeighbor(ref p, in t);
    }

    /// <summary>
    /// A packet of a connection conntrack translates (a service's DNAT, and the SNAT that follows it for a client
    /// from outside) gets its sender's tuple back before the ICMP error quotes it: the error must go to the real
    /// client and name its own socket's tuple, or path MTU discovery through a VIP never converges.
    /// </summary>
    private static void AsSent(ref PacketMeta p, ConntrackTable? ct)
    {
        if (ct is null || p.CtState != CtState.Established) return;
        ref CtEntry e = ref ct[p.CtIndex];
        if ((e.Flags & CtFlags.Nat) == 0) return;
        NatRewrite.Source(ref p, e.Key.Src, e.Key.SrcPort);
        NatRewrite.Destination(ref p, e.Key.Dst, e.Key.DstPort);
    }

    private static void MarkNeighbor(ref PacketMeta p, in TunnelPeer t)
    {
        if (p.Verdict != PacketVerdict.Tx) return;
        p.NeighborFamily = t.NeighborFamily;
        p.NeighborAddress = t.NeighborAddress;
    }
}
