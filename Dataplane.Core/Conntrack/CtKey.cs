using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Core.Conntrack;

/// <summary>
/// A connection's tuple as seen in its first packet: addresses (IPv4 in the low 32 bits, IPv6 big-endian),
/// ports (for ICMP echo: the identifier as both ports, like Cilium), protocol and family. 40 bytes, compared
/// as five 64-bit words.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct CtKey : IEquatable<CtKey>
{
    [FieldOffset(0)] public UInt128 Src;
    [FieldOffset(16)] public UInt128 Dst;
    [FieldOffset(32)] public ushort SrcPort;
    [FieldOffset(34)] public ushort DstPort;
    [FieldOffset(36)] public byte Proto;
    /// <summary>4 or 6.</summary>
    [FieldOffset(37)] public byte Family;
    [FieldOffset(38)] public ushort Reserved;

    public CtKey(UInt128 src, UInt128 dst, ushort srcPort, ushort dstPort, byte proto, byte family)
    {
        Src = src; Dst = dst; SrcPort = srcPort; DstPort = dstPort; Proto = proto; Family = family; Reserved = 0;
    }

    /// <summary>The tuple a reply carries: addresses and ports swapped.</summary>
    public readonly CtKey Reverse() => new(Dst, Src, DstPort, SrcPort, Proto, Family);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Equals(CtKey other)
    {
        ref ulong a = ref Unsafe.As<CtKey, ulong>(ref Unsafe.AsRef(in this));
        ref ulong b = ref Unsafe.As<CtKey, ulong>(ref other);
        return ((a ^ b) | (Unsafe.Add(ref a, 1) ^ Unsafe.Add(ref b, 1)) | (Unsafe.Add(ref a, 2) ^ Unsafe.Add(ref b, 2))
                | (Unsafe.Add(ref a, 3) ^ Unsafe.Add(ref b, 3)) | (Unsafe.Add(ref a, 4) ^ Unsafe.Add(ref b, 4))) == 0;
    }

    public override readonly bool Equals(object? obj) => obj is CtKey k && Equals(k);

    /// <summary>64-bit hash: CRC32-C over the five words in two lanes, combined.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong Hash()
    {
        ref ulong w = ref Unsafe.As<CtKey, ulong>(ref Unsafe.AsRef(in this));
        uint lo = System.Numerics.BitOperations.Crc32C(0x811C9DC5u, w);
        lo = System.Numerics.BitOperations.Crc32C(lo, Unsafe.Add(ref w, 1));
        lo = System.Numerics.BitOperations.Crc32C(lo, Unsafe.Add(ref w, 2));
        uint hi = System.Numerics.BitOperations.Crc32C(0x01000193u, Unsafe.Add(ref w, 3));
        hi = System.Numerics.BitOperations.Crc32C(hi, Unsafe.Add(ref w, 4));
        hi = System.Numerics.BitOperations.Crc32C(hi, lo);
        ulong h = ((ulong)hi << 32) | lo;
        h ^= h >> 29; h *= 0xbf58476d1ce4e5b9; h ^= h >> 32;
        return h;
    }

    public override readonly int GetHashCode() => (int)Hash();
}
