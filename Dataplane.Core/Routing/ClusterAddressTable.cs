using System.Runtime.CompilerServices;
using Dataplane.Core.Overlay;

namespace Dataplane.Core.Routing;

/// <summary>
/// Cluster Mesh with overlapping pod CIDRs (Cilium's cluster-aware addressing): the endpoints of other clusters
/// that this node reaches by (cluster ID, IPv4 address) rather than by address — the backends of global services
/// whose address may also be one of ours. Each gives the Tunnel next hop toward the node that hosts it and its
/// security identity (the identity stage and the route stage read it for packets carrying
/// <see cref="Packets.PacketMeta.DstCluster"/>). Built once per snapshot; lookups never allocate.
/// </summary>
public sealed class ClusterAddressTable
{
    /// <summary>One endpoint: cluster ID, IPv4 address (host order), next-hop index, identity.</summary>
    public readonly record struct Entry(byte Cluster, uint Address, uint NextHop, uint Identity);

    private readonly AddressIndex _index;
    private readonly Entry[] _entries;

    public static ClusterAddressTable Empty { get; } = new([]);

    public ClusterAddressTable(IReadOnlyList<Entry> entries)
    {
        _entries = [.. entries];
        var keys = new List<(UInt128, int)>(entries.Count);
        var seen = new HashSet<UInt128>();
        for (int i = 0; i < _entries.Length; i++)
        {
            var key = Key(_entries[i].Cluster, _entries[i].Address);
            if (!seen.Add(key)) throw new ArgumentException($"cluster {_entries[i].Cluster} address {_entries[i].Address:x8} listed twice", nameof(entries));
            keys.Add((key, i));
        }
        _index = new AddressIndex(keys);
    }

    public int Count => _entries.Length;
    public IReadOnlyList<Entry> Entries => _entries;

    /// <summary>The next hop and identity of <paramref name="address"/> in cluster <paramref name="cluster"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFind(byte cluster, uint address, out uint nextHop, out uint identity)
    {
        int i = _index.Find(Key(cluster, address));
        if (i < 0)
        {
            nextHop = identity = 0;
            return false;
        }
        ref readonly Entry e = ref _entries[i];
        nextHop = e.NextHop;
        identity = e.Identity;
        return true;
    }

    /// <summary>The IPv4-mapped address with the cluster ID above it: distinct from every plain address key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static UInt128 Key(byte cluster, uint address) => AddressIndex.V4(address) | ((UInt128)cluster << 64);
}
