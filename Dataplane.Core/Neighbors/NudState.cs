namespace Dataplane.Core.Neighbors;

/// <summary>
/// A neighbour entry's state, named and behaving as the kernel's NUD states (include/net/neighbour.h,
/// RFC 4861 §7.3.2): packets to a Reachable, Stale, Delay or Probe entry go out with its MAC; to an Incomplete or
/// Failed one they wait in its queue (bounded) while it is resolved.
/// </summary>
public enum NudState : byte
{
    None = 0,
    /// <summary>A solicitation (broadcast ARP / multicast NS) is out; packets queue.</summary>
    Incomplete = 1,
    /// <summary>Confirmed by a reply less than the reachable time ago.</summary>
    Reachable = 2,
    /// <summary>Not confirmed lately (or learned from the neighbour's own request): still used; the first use
    /// starts a reconfirmation (Delay).</summary>
    Stale = 3,
    /// <summary>Used while stale: a confirmation gets a few seconds to arrive before probing.</summary>
    Delay = 4,
    /// <summary>Unicast probes to the known MAC; packets still use it.</summary>
    Probe = 5,
    /// <summary>No answer to the solicitations: queued packets were dropped; the next packet starts again.</summary>
    Failed = 6,
    /// <summary>A static neighbour from the config: never ages, never probed.</summary>
    Permanent = 7,
}

/// <summary>Where a neighbour lives: the port it is reached through and its address (IPv4 in the low 32 bits).</summary>
public readonly record struct NeighborKey(ushort Port, bool Ipv6, UInt128 Address)
{
    public override string ToString() =>
        $"{(Ipv6 ? new System.Net.IPAddress(ToBytes(Address)) : new System.Net.IPAddress(ToBytes4((uint)Address)))} on port {Port}";

    internal static byte[] ToBytes(UInt128 a)
    {
        var b = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(b, a);
        return b;
    }

    internal static byte[] ToBytes4(uint a)
    {
        var b = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(b, a);
        return b;
    }

    /// <summary>The address as an <see cref="System.Net.IPAddress"/>.</summary>
    public System.Net.IPAddress Ip => new(Ipv6 ? ToBytes(Address) : ToBytes4((uint)Address));
}
