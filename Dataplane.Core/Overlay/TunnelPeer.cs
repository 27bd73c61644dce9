namespace Dataplane.Core.Overlay;

/// <summary>How traffic toward a peer node crosses the underlay.</summary>
public enum TunnelMode : byte
{
    /// <summary>Routed natively toward the peer's InternalIP (no encapsulation).</summary>
    Native = 0,
    /// <summary>VXLAN (RFC 7348) over UDP.</summary>
    Vxlan = 1,
    /// <summary>SRv6 H.Encaps / H.Encaps.Red (RFC 8986 §5) toward the peer's End.DT4/DT6/DT46 SID.</summary>
    Srv6 = 2,
}

/// <summary>
/// Everything the encap stage needs about one tunnel endpoint, resolved at compile time: the underlay port and
/// Ethernet header toward the underlay next hop, and pre-built outer header templates (VXLAN: outer IP + UDP +
/// VXLAN; SRv6: outer IPv6 + SRH, one per inner family). Per packet only lengths, checksums, the UDP source port
/// and the VNI are patched.
/// </summary>
public readonly struct TunnelPeer
{
    public required TunnelMode Mode { get; init; }
    /// <summary>The key Tunnel next hops carry (the node's InternalIP, IPv4-mapped for IPv4).</summary>
    public required UInt128 Endpoint { get; init; }
    public required string Name { get; init; }
    /// <summary>Underlay port and the first 12 bytes of the outer Ethernet header (dst, src MAC).</summary>
    public required ushort Port { get; init; }
    public required ulong EthWord0 { get; init; }
    public required uint EthWord1 { get; init; }
    /// <summary>4 or 6 when the underlay next hop's MAC is found at run time (ARP/ND): the outer Ethernet destination
    /// is then left zero and <see cref="NeighborAddress"/> is resolved after encapsulation; 0 = static MAC.</summary>
    public byte NeighborFamily { get; init; }
    public UInt128 NeighborAddress { get; init; }
    /// <summary>Underlay MTU (largest outer IP packet).</summary>
    public required int Mtu { get; init; }

    // ---- VXLAN ----
    /// <summary>Outer IP + UDP + VXLAN header (36 bytes IPv4, 56 bytes IPv6); null for SRv6 peers.</summary>
    public byte[]? VxlanTemplate { get; init; }
    public bool OuterIpv6 { get; init; }
    /// <summary>IPv6: pseudo-header sum of the outer addresses and next header (UDP); IPv4: sum of the template's
    /// IPv4 header with length and checksum zero. Unfolded; per packet only the length is added.</summary>
    public uint PseudoSum { get; init; }
    /// <summary>Inner Ethernet header (dst = the peer's VXLAN MAC, src = our router MAC) as two words.</summary>
    public ulong InnerEthWord0 { get; init; }
    public uint InnerEthWord1 { get; init; }
    /// <summary>A plain VXLAN peer's fixed VNI; 0 = Cilium's mode, the VNI carries the source identity.</summary>
    public uint FixedVni { get; init; }

    // ---- SRv6 ----
    /// <summary>Outer IPv6 + SRH (or just IPv6 with H.Encaps.Red and one SID) for an IPv4 inner packet; null
    /// when the peer has no SID for IPv4.</summary>
    public byte[]? Srv6Template4 { get; init; }
    public byte[]? Srv6Template6 { get; init; }
}
