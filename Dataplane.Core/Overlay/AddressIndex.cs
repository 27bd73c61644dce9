using System.Runtime.CompilerServices;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Overlay;

/// <summary>
/// Exact-match table from an address to a small index (tunnel peers, local SIDs, this node's own addresses):
/// open addressing with linear probing over two flat arrays, built once and read-only afterwards. IPv4
/// addresses are keyed in their IPv4-mapped IPv6 form (::ffff:a.b.c.d) so both families share one table.
/// </summary>
public sealed class AddressIndex
{
    private readonly UInt128[] _keys;
    private readonly int[] _values;
    private readonly int _mask;

    public static AddressIndex Empty { get; } = new([]);

    public AddressIndex(IReadOnlyList<(UInt128 Key, int Value)> entries)
    {
        int cap = 4;
        while (cap < entries.Count * 2) cap <<= 1;
        _keys = new UInt128[cap];
        _values = new int[cap];
        Array.Fill(_values, -1);
        _mask = cap - 1;
        Count = entries.Count;
        foreach (var (key, value) in entries)
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(entries), "values must be non-negative");
            int i = Slot(key);
            while (_values[i] >= 0 && _keys[i] != key) i = (i + 1) & _mask;
            _keys[i] = key;
            _values[i] = value;
        }
    }

    public int Count { get; }

    /// <summary>The IPv4-mapped key of an IPv4 address (host order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 V4(uint address) => ((UInt128)0xFFFF << 32) | address;

    /// <summary>Every (key, value), for backends that keep their own copy (the eBPF map filler). Control plane only: allocates.</summary>
    public IEnumerable<(UInt128 Key, int Value)> Entries()
    {
        for (int i = 0; i < _keys.Length; i++)
            if (_values[i] >= 0) yield return (_keys[i], _values[i]);
    }

    /// <summary>The value stored for <paramref name="key"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(UInt128 key)
    {
        if (Count == 0) return -1;
        int i = Slot(key);
        while (true)
        {
            int v = _values[i];
            if (v < 0 || _keys[i] == key) return v;
            i = (i + 1) & _mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(UInt128 key) =>
        (int)FlowHash.Finish(FlowHash.Mix(FlowHash.Mix((uint)key, (uint)(key >> 32)), (uint)(key >> 64) ^ (uint)(key >> 96))) & _mask;
}
