using Dataplane.Core.Drops;
using Dataplane.Core.Nat;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Decides, after routing, which new connections leaving through a node interface are SNATed (the translation
/// itself, with its port, is made at conntrack commit once policy let the connection through):
/// pod traffic to a destination outside every node's pod CIDRs and the configured non-masquerade CIDRs when
/// masquerading is on (Cilium's BPF masquerade); traffic from outside DNATed to a backend that is not on this
/// node (Cilium's NodePort SNAT mode, so replies come back here to be reverse-translated); and what the egress
/// gateway stage marked. The address is the egress gateway's egress IP or the leaving interface's own. Only TCP,
/// UDP and ICMP echo can be translated: anything else is dropped with UNSUPPORTED_PROTOCOL_FOR_NAT_MASQUERADE
/// (168); an interface without an address of the family drops with NO_MAPPING_FOR_NAT_MASQUERADE (167).
/// </summary>
public readonly struct MasqueradeStage : IStage
{
    public static StageId Id => StageId.Masquerade;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        if (context.Conntrack is null) return 0;
        MasqueradeState masq = snapshot.Services.Masquerade;
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        var intents = context.Lb.Intents;
        PortKind[] kinds = snapshot.PortKinds;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Tx || p.CtState != CtState.New || (p.Flags & PacketFlags.IcmpError) != 0) continue;
            ref var intent = ref intents[i];
            bool viaInterface = p.DstEndpoint == 0 && (uint)p.OutPort < (uint)kinds.Length && kinds[p.OutPort] == PortKind.Interface;
            if (!viaInterface) { intent.Snat = false; continue; }
            if (!intent.Snat)
            {
                if (intent.Dnat) intent.Snat = p.SrcEndpoint == 0;
                else intent.Snat = masq.Enabled && p.SrcEndpoint != 0 && !masq.Exempt.Contains(Addr.Dst(p), p.IpVersion);
                if (!intent.Snat) continue;
            }
            seen++;
            if (!Translatable(in p))
            {
                p.Drop((p.Flags & PacketFlags.LaterFragment) != 0 ? DropReason.IpFragmentationNotSupported : DropReason.UnsupportedProtocolForNatMasquerade);
                continue;
            }
            if (intent.SnatAddr == UInt128.Zero) intent.SnatAddr = masq.AddressOf(p.OutPort, p.IpVersion);
            if (intent.SnatAddr == UInt128.Zero) p.Drop(DropReason.NoMappingForNatMasquerade);
        }
        return seen;
    }

    /// <summary>TCP, UDP and ICMP echo requests have a port or identifier to translate; fragments after the first do not.</summary>
    private static bool Translatable(in PacketMeta p) =>
        (p.Flags & PacketFlags.LaterFragment) == 0
        && (p.L4Proto is IpProtocols.Tcp or IpProtocols.Udp
            || (p.L4Proto == IpProtocols.Icmp && p.IcmpType == 8) || (p.L4Proto == IpProtocols.Icmpv6 && p.IcmpType == 128));
}
