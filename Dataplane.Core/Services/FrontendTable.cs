using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dataplane.Core.Services;

/// <summary>
/// Open-addressing table of frontends keyed by (address, port, protocol, family): 32-byte slots, power-of-two
/// size at most half full, linear probing. Built once per snapshot, read-only afterwards.
/// </summary>
public sealed class FrontendTable
{
    private readonly Frontend[] _slots;
    private readonly uint _mask;

    public static FrontendTable Empty { get; } = new([]);

    public FrontendTable(IReadOnlyList<Frontend> frontends)
    {
        Count = frontends.Count;
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, frontends.Count * 2));
        _slots = new Frontend[size];
        _mask = (uint)size - 1;
        foreach (var f in frontends)
        {
            uint i = Hash(f.Addr, f.Port, f.Proto, f.Family) & _mask;
            while (_slots[i].Used)
            {
                if (Same(in _slots[i], f.Addr, f.Port, f.Proto, f.Family))
                    throw new ArgumentException($"duplicate frontend {f.Addr}:{f.Port}/{f.Proto}");
                i = (i + 1) & _mask;
            }
            _slots[i] = f;
            _slots[i].Used = true;
        }
    }

    public int Count { get; }

    /// <summary>Every frontend in slot order (off the hot path: map fillers, diagnostics).</summary>
    public IEnumerable<Frontend> All()
    {
        foreach (var s in _slots)
            if (s.Used) yield return s;
    }

    /// <summary>The frontend for a destination, or a null reference when none matches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly Frontend Find(UInt128 addr, ushort port, byte proto, byte family)
    {
        if (Count == 0) return ref Unsafe.NullRef<Frontend>();
        uint i = Hash(addr, port, proto, family) & _mask;
        while (true)
        {
            ref readonly Frontend s = ref _slots[i];
            if (!s.Used) return ref Unsafe.NullRef<Frontend>();
            if (Same(in s, addr, port, proto, family)) return ref s;
            i = (i + 1) & _mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Same(in Frontend s, UInt128 addr, ushort port, byte proto, byte family) =>
        s.Addr == addr && s.Port == port && s.Proto == proto && s.Family == family;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(UInt128 addr, ushort port, byte proto, byte family)
    {
        uint h = BitOperations.Crc32C(0x5eed1234u, (ulong)addr);
        h = BitOperations.Crc32C(h, (ulong)(addr >> 64));
        h = BitOperations.Crc32C(h, ((uint)port << 16) | ((uint)proto << 8) | family);
        return h * 0x9E3779B1u >> 8 ^ h;
    }
}
