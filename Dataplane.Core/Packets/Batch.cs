using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Core.Packets;

/// <summary>
/// Up to <see cref="MaxSize"/> packet descriptors, processed together by every stage. The descriptors live in
/// cache-line aligned native memory owned by the batch (one batch per worker, reused for every burst), so a
/// stage walks them with a pointer and nothing is allocated per packet.
/// </summary>
public sealed unsafe class Batch : IDisposable
{
    public const int MaxSize = 256;

    private PacketMeta* _meta;
    /// <summary>Where <see cref="Meta"/> starts: the whole batch, or a window of it (<see cref="View"/>).</summary>
    private PacketMeta* _view;

    public Batch(int capacity = MaxSize)
    {
        if (capacity is < 1 or > MaxSize) throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity;
        _meta = (PacketMeta*)NativeMemory.AlignedAlloc((nuint)(capacity * PacketMeta.Size), 64);
        NativeMemory.Clear(_meta, (nuint)(capacity * PacketMeta.Size));
        _view = _meta;
    }

    public int Capacity { get; }

    /// <summary>Number of valid descriptors.</summary>
    public int Count;

    public PacketMeta* Meta => _view;

    public ref PacketMeta this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _view[i];
    }

    /// <summary>
    /// Shows stages descriptors [start, start + count) as if they were the whole batch (the pipeline runs a
    /// batch in windows when a packet depends on an earlier one's new connection); <c>View(0, n)</c> restores it.
    /// </summary>
    public void View(int start, int count)
    {
        _view = _meta + start;
        Count = count;
    }

    public Span<PacketMeta> AsSpan() => new(_meta, Count);

    public void Dispose()
    {
        if (_meta != null) { NativeMemory.AlignedFree(_meta); _meta = null; _view = null; }
        GC.SuppressFinalize(this);
    }

    ~Batch() { if (_meta != null) NativeMemory.AlignedFree(_meta); }
}
