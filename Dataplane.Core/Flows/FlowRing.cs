using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Core.Flows;

/// <summary>
/// Bounded single-producer/single-consumer ring of flow events. The worker never blocks: when the ring is full
/// the event is counted in <see cref="Lost"/> and discarded, as Hubble's ring does. Indices are free-running
/// and masked, on separate cache lines (DPDK's rte_ring layout) so producer and consumer do not share a line.
/// </summary>
public sealed class FlowRing
{
    private readonly FlowEvent[] _slots;
    private readonly int _mask;
    private Indices _idx;

    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private struct Indices
    {
        [FieldOffset(64)] public long Head;   // written by the producer
        [FieldOffset(128)] public long Tail;  // written by the consumer
    }

    public FlowRing(int capacityPowerOfTwo)
    {
        if (capacityPowerOfTwo < 2 || (capacityPowerOfTwo & (capacityPowerOfTwo - 1)) != 0)
            throw new ArgumentException("capacity must be a power of two ≥ 2", nameof(capacityPowerOfTwo));
        _slots = new FlowEvent[capacityPowerOfTwo];
        _mask = capacityPowerOfTwo - 1;
    }

    public int Capacity => _slots.Length;

    /// <summary>Events discarded because the ring was full.</summary>
    public long Lost;

    public int Count => (int)(Volatile.Read(ref _idx.Head) - Volatile.Read(ref _idx.Tail));

    /// <summary>Producer side: reserves the next slot, or null when full (counted as lost).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref FlowEvent TryClaim(out bool ok)
    {
        long head = _idx.Head;
        if (head - Volatile.Read(ref _idx.Tail) >= _slots.Length)
        {
            Lost++;
            ok = false;
            return ref Unsafe.NullRef<FlowEvent>();
        }
        ok = true;
        return ref _slots[(int)head & _mask];
    }

    /// <summary>Producer side: publishes the slot returned by <see cref="TryClaim"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish() => Volatile.Write(ref _idx.Head, _idx.Head + 1);

    /// <summary>Consumer side: copies out the oldest event.</summary>
    public bool TryRead(out FlowEvent ev)
    {
        long tail = _idx.Tail;
        if (tail == Volatile.Read(ref _idx.Head)) { ev = default; return false; }
        ev = _slots[(int)tail & _mask];
        Volatile.Write(ref _idx.Tail, tail + 1);
        return true;
    }
}
