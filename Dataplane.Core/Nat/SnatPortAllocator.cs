using Dataplane.Core.Conntrack;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Nat;

/// <summary>
/// SNAT source-port allocation (ICMP: identifier), done when conntrack creates a masqueraded or egress-gateway
/// connection. The conntrack table's reply index is the allocator: a candidate port is free when no connection
/// already uses the reply tuple it would produce. The original port is tried first when it lies in the range (as
/// Cilium does), then pseudo-random candidates derived from the tuple, up to <see cref="Retries"/> (Cilium's
/// SNAT_COLLISION_RETRIES); a range that small or smaller is scanned whole. A full table drops with
/// CT_MAP_INSERTION_FAILED (155) and an exhausted range with NO_MAPPING_FOR_NAT_MASQUERADE (167), counted, never an
/// exception.
/// </summary>
public static class SnatPortAllocator
{
    /// <summary>Random probes of the port range before giving up.</summary>
    public const int Retries = 32;

    /// <summary>
    /// Allocates a source port for <paramref name="key"/> translated to <paramref name="addr"/>, inserts the SNAT
    /// connection (<paramref name="entry"/>) and rewrites the packet's source; on failure the packet is dropped.
    /// </summary>
    public static bool TryAllocate(ref PacketMeta p, ConntrackTable ct, in CtKey key, UInt128 addr, ushort min, ushort max,
        uint now, out uint entry)
    {
        entry = 0;
        bool icmp = key.Proto is IpProtocols.Icmp or IpProtocols.Icmpv6;
        uint range = (uint)(max - min) + 1;
        uint start = (uint)(key.Hash() % range);
        bool scan = range <= Retries;
        int tries = scan ? (int)range : Retries + 1;
        for (int t = 0; t < tries; t++)
        {
            ushort port;
            if (t == 0 && !scan && key.SrcPort >= min && key.SrcPort <= max) port = key.SrcPort;
            else if (scan) port = (ushort)(min + (start + (uint)t) % range);
            else port = (ushort)(min + (uint)((start + (ulong)t * 0x9E3779B1u) % range));
            var replyKey = new CtKey(key.Dst, addr, icmp ? port : key.DstPort, port, key.Proto, key.Family);
            if (ct.TryLookup(replyKey, out _, out _)) continue;
            if (!ct.TryInsert(key, new CtNat(CtNatKind.Snat, addr, port), now, out entry, p.SrcEndpoint))
            {
                p.Drop(DropReason.CtMapInsertionFailed);
                return false;
            }
            NatRewrite.Source(ref p, addr, port);
            return true;
        }
        p.Drop(DropReason.NoMappingForNatMasquerade);
        return false;
    }
}
