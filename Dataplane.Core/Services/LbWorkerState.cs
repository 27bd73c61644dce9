namespace Dataplane.Core.Services;

/// <summary>
/// A worker's own load-balancing and NAT state: the per-batch NAT intents (indexed like the batch), the
/// sessionAffinity table (allocated when a service with ClientIP affinity is first hit) and the generator for
/// random backend selection.
/// </summary>
public sealed class LbWorkerState
{
    public NatIntent[] Intents { get; } = new NatIntent[Packets.Batch.MaxSize];

    private AffinityTable? _affinity;
    private ulong _rng = 0x9E3779B97F4A7C15;

    public AffinityTable Affinity => _affinity ??= new AffinityTable(AffinityCapacity);

    /// <summary>Slots of the affinity table, fixed when it is created.</summary>
    public int AffinityCapacity { get; init; } = 16384;

    /// <summary>xorshift64*: cheap, allocation-free randomness for lb-algorithm random.</summary>
    public uint NextRandom()
    {
        ulong x = _rng;
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
        _rng = x;
        return (uint)((x * 0x2545F4914F6CDD1D) >> 32);
    }
}
