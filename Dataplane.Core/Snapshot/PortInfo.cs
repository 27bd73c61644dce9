using System.Collections.Immutable;

namespace Dataplane.Core.Snapshot;

public enum PortKind : byte
{
    /// <summary>A node interface (uplink, underlay).</summary>
    Interface = 0,
    /// <summary>The host side of a local pod's veth.</summary>
    Endpoint = 1,
}

/// <summary>A port the pipeline can receive from and transmit on. Index = port number in packet metadata.</summary>
public sealed record PortInfo(ushort Id, string Name, PortKind Kind, ulong Mac, int Mtu, uint Endpoint)
{
    /// <summary>The node's addresses on this interface (what ARP/ND solicitations and announcements are sent from).</summary>
    public ImmutableArray<PortAddress> Addresses { get; init; } = [];
}

/// <summary>One of the node's addresses on a port, with its subnet (IPv4 in the low 32 bits).</summary>
public readonly record struct PortAddress(UInt128 Address, int PrefixLength, bool Ipv6)
{
    /// <summary>Whether <paramref name="other"/> is inside this address's subnet.</summary>
    public bool Contains(UInt128 other, bool ipv6)
    {
        if (ipv6 != Ipv6) return false;
        int bits = Ipv6 ? 128 : 32;
        if (PrefixLength <= 0) return true;
        int shift = bits - PrefixLength;
        return shift >= 128 || (Address >> shift) == (other >> shift);
    }
}

/// <summary>A static neighbour from the config (<c>spec.neighbors</c>): never resolved, never aged.</summary>
public readonly record struct StaticNeighbor(ushort Port, bool Ipv6, UInt128 Address, ulong Mac);
