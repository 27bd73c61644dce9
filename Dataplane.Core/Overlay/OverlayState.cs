using System.Collections.Immutable;
using System.Runtime.CompilerServices;

namespace Dataplane.Core.Overlay;

/// <summary>
/// The compiled overlay, immutable and hung off the datapath snapshot: tunnel peers (by endpoint address), the
/// local SID table, this node's own underlay addresses (which VXLAN packets are for us), which VNIs are valid
/// identities, and the addresses ICMP errors are sent from. <see cref="Empty"/> disables everything.
/// </summary>
public sealed class OverlayState
{
    /// <summary>VXLAN's overhead over the inner IP packet with an IPv4 / IPv6 outer header: outer IP + UDP + VXLAN +
    /// the inner Ethernet header (the underlay MTU counts the outer IP packet).</summary>
    public const int VxlanOverhead4 = 20 + 8 + 8 + 14, VxlanOverhead6 = 40 + 8 + 8 + 14;

    // Declared before Empty: static initializers run in textual order, and Empty's constructor fills pages with it.
    private static readonly ulong[] NoIdentities = new ulong[1 << 10];

    public static OverlayState Empty { get; } = new();

    public OverlayState(
        ImmutableArray<TunnelPeer> peers = default,
        ImmutableArray<LocalSid> sids = default,
        ImmutableArray<UInt128> localAddresses = default,
        ImmutableArray<(UInt128 Prefix, int Length)> locators = default,
        IEnumerable<uint>? validIdentities = null,
        uint icmpSource4 = 0,
        UInt128 icmpSource6 = default,
        uint icmpErrorSource4 = 0)
    {
        Peers = peers.IsDefault ? [] : [.. peers];
        Sids = sids.IsDefault ? [] : [.. sids];
        PeerIndex = new AddressIndex([.. Peers.Select((p, i) => (p.Endpoint, i))]);
        SidIndex = new AddressIndex([.. Sids.Select((s, i) => (s.Sid, i))]);
        var local = localAddresses.IsDefault ? [] : localAddresses;
        LocalAddresses = new AddressIndex([.. local.Select((a, i) => (a, i))]);
        Locators = locators.IsDefault ? [] : [.. locators.Select(l => (l.Prefix, l.Length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - l.Length)))];
        Array.Fill(_validVni, NoIdentities);
        foreach (uint id in validIdentities ?? [])
        {
            if (id >= 1u << 24) continue;
            var page = _validVni[id >> 16];
            if (ReferenceEquals(page, NoIdentities)) _validVni[id >> 16] = page = new ulong[1 << 10];
            page[(id & 0xffff) >> 6] |= 1UL << (int)(id & 63);
            if (id >= 1u << 16) HasClusterScopedIdentities = true;
        }
        IcmpSource4 = icmpSource4;
        IcmpSource6 = icmpSource6;
        IcmpErrorSource4 = icmpErrorSource4 != 0 ? icmpErrorSource4 : icmpSource4;
    }

    /// <summary>
    /// Valid VNIs as a bitmap of the 24-bit identity space, one 8 KiB page of 65 536 bits per cluster ID (the
    /// identity's top 8 bits, Cluster Mesh's ranges); clusters without identities share one empty page, so the
    /// lookup stays two loads and no branch on whether a page exists.
    /// </summary>
    private readonly ulong[][] _validVni = new ulong[256][];

    /// <summary>Some valid VNI is above 65535: an identity of a Cluster Mesh cluster ID (its top 8 bits).</summary>
    public bool HasClusterScopedIdentities { get; }

    /// <summary>Indexed by <see cref="PeerIndex"/> results.</summary>
    public TunnelPeer[] Peers { get; }
    public AddressIndex PeerIndex { get; }
    public LocalSid[] Sids { get; }
    public AddressIndex SidIndex { get; }
    public AddressIndex LocalAddresses { get; }
    /// <summary>Locator prefixes as (prefix, mask): an address inside one that is no SID is dropped with 185.</summary>
    public (UInt128 Prefix, UInt128 Mask)[] Locators { get; }
    /// <summary>Source of ICMP errors we generate (0 / zero = none of that family: such packets are dropped).</summary>
    public uint IcmpSource4 { get; }
    public UInt128 IcmpSource6 { get; }
    /// <summary>Source of IPv4 ICMP errors to pods: <see cref="IcmpSource4"/>, or on a node without an IPv4 underlay
    /// address (IPv6-only nodes with IPv4 pods) the router address of its IPv4 pod CIDR — an IPv4 pod behind a
    /// tunnel in IPv6 still needs "fragmentation needed" to learn the tunnel's MTU.</summary>
    public uint IcmpErrorSource4 { get; }

    /// <summary>True when a received VNI names a known security identity (Cilium carries the source identity in it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsValidVni(uint vni) =>
        vni < (1u << 24) && (_validVni[vni >> 16][(vni & 0xffff) >> 6] & (1UL << (int)(vni & 63))) != 0;

    /// <summary>True when <paramref name="a"/> falls inside one of our SRv6 locators.</summary>
    public bool InLocator(UInt128 a)
    {
        foreach (var (prefix, mask) in Locators)
            if ((a & mask) == prefix) return true;
        return false;
    }

    public bool HasSids => Sids.Length > 0 || Locators.Length > 0;
}
