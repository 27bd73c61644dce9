using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dataplane.Core.Parsing;

/// <summary>
/// A cheap hash of the 5-tuple for ECMP and for the VXLAN source port: CRC32-C steps (one instruction each
/// with SSE4.2/ARMv8 CRC, which <see cref="BitOperations.Crc32C(uint, uint)"/> uses) and a multiplicative
/// finaliser so the high bits mix too. It spreads flows; it is not meant to resist attackers.
/// </summary>
public static unsafe class FlowHash
{
    private const uint Seed = 0x9747b28c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Mix(uint h, uint k) => BitOperations.Crc32C(h, k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Ipv4(uint src, uint dst, byte proto) => Mix(Mix(Seed ^ proto, src), dst);

    /// <summary>Mixes IPv6 source and destination (32 contiguous bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Ipv6(byte* addrs)
    {
        ulong* w = (ulong*)addrs;
        uint h = (uint)BitOperations.Crc32C(Seed, Unsafe.ReadUnaligned<ulong>(w));
        h = (uint)BitOperations.Crc32C(h, Unsafe.ReadUnaligned<ulong>(w + 1));
        h = (uint)BitOperations.Crc32C(h, Unsafe.ReadUnaligned<ulong>(w + 2));
        return (uint)BitOperations.Crc32C(h, Unsafe.ReadUnaligned<ulong>(w + 3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Finish(uint h)
    {
        h ^= h >> 15; h *= 0x2c1b3c6d; h ^= h >> 12;
        return h;
    }
}
