using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Core.EgressGateway;

/// <summary>
/// Read-only open-addressing map from an address to a 64-bit value (here: the bit set of egress policies
/// selecting a source pod). 32-byte slots, at most half full, linear probing.
/// </summary>
public sealed class AddressMap
{
    [StructLayout(LayoutKind.Explicit, Size = 32)]
    private struct Slot
    {
        [FieldOffset(0)] public UInt128 Addr;
        [FieldOffset(16)] public ulong Value;
        [FieldOffset(24)] public byte Family;
    }

    private readonly Slot[] _slots;
    private readonly uint _mask;

    public static AddressMap Empty { get; } = new(new Dictionary<(UInt128 Addr, byte Family), ulong>());

    public AddressMap(IReadOnlyDictionary<(UInt128 Addr, byte Family), ulong> entries)
    {
        Count = entries.Count;
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, entries.Count * 2));
        _slots = new Slot[size];
        _mask = (uint)size - 1;
        foreach (var ((addr, family), value) in entries)
        {
            uint i = Hash(addr) & _mask;
            while (_slots[i].Family != 0) i = (i + 1) & _mask;
            _slots[i] = new Slot { Addr = addr, Value = value, Family = family };
        }
    }

    public int Count { get; }

    /// <summary>Every (address, family) → value, for other targets of the same configuration (the eBPF maps).</summary>
    public IEnumerable<(UInt128 Addr, byte Family, ulong Value)> Entries()
    {
        for (int i = 0; i < _slots.Length; i++)
            if (_slots[i].Family != 0) yield return (_slots[i].Addr, _slots[i].Family, _slots[i].Value);
    }

    /// <summary>The value stored for <paramref name="addr"/>, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Get(UInt128 addr, byte family)
    {
        if (Count == 0) return 0;
        uint i = Hash(addr) & _mask;
        while (true)
        {
            ref readonly Slot s = ref _slots[i];
            if (s.Family == 0) return 0;
            if (s.Family == family && s.Addr == addr) return s.Value;
            i = (i + 1) & _mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(UInt128 a)
    {
        uint h = BitOperations.Crc32C(0x2545F491u, (ulong)a);
        h = BitOperations.Crc32C(h, (ulong)(a >> 64));
        return h ^ (h >> 15);
    }
}
