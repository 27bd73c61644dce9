using System.Runtime.InteropServices;

namespace Dataplane.Core.Conntrack;

public enum CtNatKind : byte
{
    None = 0,
    /// <summary>Destination rewritten (service → backend): <see cref="CtNat.Addr"/>:<see cref="CtNat.Port"/> is the backend.</summary>
    Dnat = 1,
    /// <summary>Source rewritten (masquerade / egress gateway): <see cref="CtNat.Addr"/>:<see cref="CtNat.Port"/> is the
    /// translated source (for ICMP echo, Port is the translated identifier).</summary>
    Snat = 2,
}

/// <summary>
/// A connection's address translation: the one address and port its forward tuple is rewritten to. Together with
/// the entry's forward tuple this gives both rewrites (forward and reverse) and the tuple replies carry, which the
/// table indexes instead of the plain reversed tuple. Kept beside the 64-byte entries (20 bytes per flow) so the
/// entry stays one cache line and flows without NAT never touch it.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
public struct CtNat
{
    [FieldOffset(0)] public UInt128 Addr;
    [FieldOffset(16)] public ushort Port;
    [FieldOffset(18)] public CtNatKind Kind;
    /// <summary>A DNAT to a backend of another cluster (overlapping pod CIDRs): that cluster's ID, so forward packets
    /// are routed by (cluster, backend address); 0 = routed by address.</summary>
    [FieldOffset(19)] public byte Cluster;

    public CtNat(CtNatKind kind, UInt128 addr, ushort port, byte cluster = 0)
    {
        Kind = kind; Addr = addr; Port = port; Cluster = cluster;
    }
}

/// <summary>Bits of <see cref="CtEntry.Flags"/>.</summary>
public static class CtFlags
{
    public const ushort Dnat = 1 << 0;
    public const ushort Snat = 1 << 1;
    /// <summary>
    /// Forward packets continue into a second entry keyed by the tuple after this entry's rewrite (a service
    /// reached from outside whose backend is remote: the DNAT entry, then an SNAT entry), so the stage looks again.
    /// </summary>
    public const ushort ChainForward = 1 << 2;
    /// <summary>Replies continue into the first entry after this (SNAT) entry's reverse rewrite.</summary>
    public const ushort ChainReply = 1 << 3;
    public const ushort Nat = Dnat | Snat;
}
