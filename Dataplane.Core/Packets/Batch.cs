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

    public Batch(int capacity = MaxSize)
    {
        if (capacity is < 1 or > MaxSize) throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity;
        _meta = (PacketMeta*)NativeMemory.AlignedAlloc((nuint)(capacity * PacketMeta.Size), 64);
        NativeMemory.Clear(_meta, (nuint)(capacity * PacketMeta.Size));
    }

    public int Capacity { get; }

    /// <summary>Number of valid descriptors.</summary>
    public int Count;

    public PacketMeta* Meta => _meta;

    public ref PacketMeta this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _meta[i];
    }

    public Span<PacketMeta> AsSpan() => new(_meta, Count);

    public void Dispose()
    {
        if (_meta != null) { NativeMemory.AlignedFree(_meta); _meta = null; }
        GC.SuppressFinalize(this);
    }

    ~Batch() { if (_meta != null) NativeMemory.AlignedFree(_meta); }
}
