namespace Dataplane.Core.Neighbors;

/// <summary>
/// One worker's link to neighbour resolution: the shared table it reads, the ring it posts misses and learned
/// addresses to (<see cref="ToResolver"/>), and the ring the resolver hands it frames to transmit on
/// (<see cref="FromResolver"/>: solicitations, announcements, packets released once their neighbour resolved).
/// Only the worker touches its ends; nothing here allocates.
/// </summary>
public sealed class WorkerNeighbors(NeighborTable table, int ringRecords = 256)
{
    public NeighborTable Table { get; } = table;
    public FrameRing ToResolver { get; } = new(ringRecords);
    public FrameRing FromResolver { get; } = new(ringRecords);

    /// <summary>Posts a record to the resolver; false when its ring is full.</summary>
    public bool Post(FrameKind kind, ushort port, bool ipv6, UInt128 address, ulong mac, ReadOnlySpan<byte> frame = default) =>
        ToResolver.TryWrite(kind, port, ipv6, address, mac, frame);
}
