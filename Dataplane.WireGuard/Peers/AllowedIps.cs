using System.Net;
using System.Runtime.CompilerServices;

namespace Dataplane.WireGuard.Peers;

/// <summary>
/// Cryptokey routing (whitepaper §2): which peer a destination address goes to, and whether a decrypted packet's
/// source may come from the peer that sent it. An immutable snapshot, swapped whole when the peer set changes;
/// longest prefix first. A node mesh has one entry set per node, so a scan over a short array beats a trie
/// here; lookups allocate nothing.
/// </summary>
public sealed class AllowedIps
{
    private readonly record struct Entry(UInt128 Prefix, UInt128 Mask, int Length, bool V6, Peer Peer);

    private readonly Entry[] _entries;

    public static AllowedIps Empty { get; } = new([]);

    private AllowedIps(Entry[] entries) => _entries = entries;

    /// <summary>A table of (prefix, peer) pairs; a prefix named twice belongs to the last peer that names it (as `wg set` does).</summary>
    public static AllowedIps Build(IEnumerable<(IPNetwork Prefix, Peer Peer)> routes)
    {
        var byPrefix = new Dictionary<(UInt128, int, bool), Entry>();
        foreach (var (prefix, peer) in routes)
        {
            bool v6 = prefix.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
            int bits = v6 ? 128 : 32;
            UInt128 addr = ToUInt128(prefix.BaseAddress);
            UInt128 mask = prefix.PrefixLength == 0 ? UInt128.Zero : UInt128.MaxValue << (bits - prefix.PrefixLength);
            if (!v6) mask &= uint.MaxValue;
            byPrefix[(addr & mask, prefix.PrefixLength, v6)] = new Entry(addr & mask, mask, prefix.PrefixLength, v6, peer);
        }
        var entries = byPrefix.Values.OrderByDescending(e => e.Length).ToArray();
        return new AllowedIps(entries);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Peer? Lookup4(uint address) => Lookup(address, false);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Peer? Lookup6(UInt128 address) => Lookup(address, true);

    private Peer? Lookup(UInt128 address, bool v6)
    {
        var entries = _entries;
        for (int i = 0; i < entries.Length; i++)
        {
            ref readonly var e = ref entries[i];
            if (e.V6 == v6 && (address & e.Mask) == e.Prefix) return e.Peer;
        }
        return null;
    }

    /// <summary>The destination of an IP packet (version from its first nibble); null if it is not IPv4/IPv6 or too short.</summary>
    public Peer? LookupDestination(ReadOnlySpan<byte> ipPacket) => LookupAt(ipPacket, 16, 24);

    /// <summary>The peer owning the source address of an IP packet.</summary>
    public Peer? LookupSource(ReadOnlySpan<byte> ipPacket) => LookupAt(ipPacket, 12, 8);

    private Peer? LookupAt(ReadOnlySpan<byte> p, int v4Offset, int v6Offset)
    {
        if (p.Length >= 20 && p[0] >> 4 == 4) return Lookup4(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(p[v4Offset..]));
        if (p.Length >= 40 && p[0] >> 4 == 6) return Lookup6(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(p[v6Offset..]));
        return null;
    }

    /// <summary>The prefixes that route to <paramref name="peer"/>, for display.</summary>
    public IEnumerable<string> PrefixesOf(Peer peer)
    {
        foreach (var e in _entries)
            if (ReferenceEquals(e.Peer, peer)) yield return $"{FromUInt128(e.Prefix, e.V6)}/{e.Length}";
    }

    private static UInt128 ToUInt128(IPAddress a)
    {
        Span<byte> b = stackalloc byte[16];
        a.TryWriteBytes(b, out int n);
        return n == 4 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b) : System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(b);
    }

    private static IPAddress FromUInt128(UInt128 v, bool v6)
    {
        if (!v6) return new IPAddress(System.Net.IPAddress.HostToNetworkOrder((int)(uint)v) & 0xffffffffL);
        Span<byte> b = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(b, v);
        return new IPAddress(b);
    }
}
