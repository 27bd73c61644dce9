using System.Runtime.InteropServices;

namespace Dataplane.Core.Routing;

/// <summary>
/// A fixed pool of 256-slot groups (1 KiB each, cache-line aligned) for the levels below tbl24, with a
/// stack of free indices. The block is reserved up front and each group is written only when handed
/// out, so untouched groups cost address space, not memory. Control plane only.
/// </summary>
internal sealed unsafe class Tbl8Groups : IDisposable
{
    public const int GroupSize = 256;

    private uint* _slots;
    private readonly int[] _free;
    private int _freeCount;

    public Tbl8Groups(int capacity)
    {
        if (capacity is < 1 or > (1 << 24)) throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity;
        _slots = (uint*)NativeMemory.AlignedAlloc((nuint)capacity * GroupSize * sizeof(uint), 4096);
        _free = new int[capacity];
        for (int i = 0; i < capacity; i++) _free[i] = capacity - 1 - i;
        _freeCount = capacity;
    }

    /// <summary>A copy of <paramref name="source"/> with room for <paramref name="capacity"/> groups: the groups
    /// it handed out keep their indices (the copied slots point at them), the free ones stay free.</summary>
    public Tbl8Groups(Tbl8Groups source, int capacity)
    {
        if (capacity < source.Capacity || capacity > (1 << 24)) throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity;
        _slots = (uint*)NativeMemory.AlignedAlloc((nuint)capacity * GroupSize * sizeof(uint), 4096);
        // Only the groups ever handed out are copied: the rest of the block stays untouched address space.
        Buffer.MemoryCopy(source._slots, _slots, (long)capacity * GroupSize * sizeof(uint), (long)source.HighWater * GroupSize * sizeof(uint));
        HighWater = source.HighWater;
        _free = new int[capacity];
        // New indices last out: the source's free ones (lowest first) are handed out before the block grows.
        int n = 0;
        for (int i = capacity - 1; i >= source.Capacity; i--) _free[n++] = i;
        Array.Copy(source._free, 0, _free, n, source._freeCount);
        _freeCount = n + source._freeCount;
    }

    public int Capacity { get; }

    public int Available => _freeCount;

    public int InUse => Capacity - _freeCount;

    /// <summary>One past the highest group index ever handed out: what a copy must carry.</summary>
    public int HighWater { get; private set; }

    /// <summary>Base of the slot array: group g starts at Slots + g * 256.</summary>
    public uint* Slots => _slots;

    public uint* this[int group] => _slots + (nint)group * GroupSize;

    /// <summary>Takes a group and fills every slot with <paramref name="fill"/> (the slot it replaces).</summary>
    public int Allocate(uint fill)
    {
        if (_freeCount == 0) ThrowExhausted(Capacity);
        int g = _free[--_freeCount];
        if (g >= HighWater) HighWater = g + 1;
        new Span<uint>(this[g], GroupSize).Fill(fill);
        return g;
    }

    public void Release(int group) => _free[_freeCount++] = group;

    /// <summary>True when all 256 slots hold the same value, so the group can fold back into its parent slot.</summary>
    public bool IsUniform(int group, out uint value)
    {
        var span = new ReadOnlySpan<uint>(this[group], GroupSize);
        value = span[0];
        return !span.ContainsAnyExcept(value);
    }

    internal static void ThrowExhausted(int capacity) =>
        throw new InvalidOperationException(
            $"LPM table out of tbl8 groups (capacity {capacity}); create it with a larger maxTbl8Groups.");

    public void Dispose()
    {
        if (_slots != null) { NativeMemory.AlignedFree(_slots); _slots = null; }
        GC.SuppressFinalize(this);
    }

    ~Tbl8Groups() { if (_slots != null) NativeMemory.AlignedFree(_slots); }
}
