using System.Runtime.CompilerServices;

namespace Dataplane.Core.Routing;

/// <summary>
/// Cluster Mesh with overlapping pod CIDRs, pod to pod: another cluster's pod CIDR made reachable here under a
/// translated range of the same size (1:1, host part kept — NETMAP). A new connection to an address in a translated
/// range is DNATed to the real address in that cluster and then handled like a global-service backend there: routed
/// by (cluster, address) through <see cref="ClusterAddressTable"/> and SNATed to this node. A handful of ranges,
/// scanned in order for new connections only; never allocates.
/// </summary>
public sealed class ClusterNetmap
{
    /// <summary>Addresses <c>Translated/len</c> here are <c>Real/len</c> in cluster <see cref="Cluster"/> (host order).</summary>
    public readonly record struct Range(uint Translated, uint Real, uint Mask, byte Cluster);

    private readonly Range[] _ranges;

    public static ClusterNetmap Empty { get; } = new([]);

    public ClusterNetmap(IReadOnlyList<Range> ranges)
    {
        foreach (var r in ranges)
            if ((r.Translated & ~r.Mask) != 0 || (r.Real & ~r.Mask) != 0 || r.Cluster == 0)
                throw new ArgumentException($"range {r} has host bits set or no cluster", nameof(ranges));
        _ranges = [.. ranges];
    }

    public int Count => _ranges.Length;
    public IReadOnlyList<Range> Ranges => _ranges;

    /// <summary>The real address and cluster of <paramref name="dst"/> when it is in a translated range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryMap(uint dst, out uint real, out byte cluster)
    {
        foreach (ref readonly Range r in _ranges.AsSpan())
            if ((dst & r.Mask) == r.Translated)
            {
                real = r.Real | (dst & ~r.Mask);
                cluster = r.Cluster;
                return true;
            }
        real = 0;
        cluster = 0;
        return false;
    }
}
