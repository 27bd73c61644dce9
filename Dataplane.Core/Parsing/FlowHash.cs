using System.Numerics;
using System.Runtime.CompilerServices;

namespace Dataplane.Core.Parsing;

/// <summary>
/// A cheap, well-mixing hash of the 5-tuple (multiply–rotate rounds, murmur-style finaliser). Used for ECMP
/// and for the VXLAN source port, so it only needs to spread flows, not resist attackers.
/// </summary>
public static unsafe class FlowHash
{
    private const uint C1 = 0xcc9e2d51, C2 = 0x1b873593;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Mix(uint h, uint k)
    {
        k *= C1; k = BitOperations.RotateLeft(k, 15); k *= C2;
        h ^= k; h = BitOperations.RotateLeft(h, 13);
        return h * 5 + 0xe6546b64;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Ipv4(uint src, uint dst, byte proto) => Mix(Mix(proto, src), dst);

    /// <summary>Mixes IPv6 source and destination (32 contiguous bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Ipv6(byte* addrs)
    {
        uint* w = (uint*)addrs;
        uint h = 0x9747b28c;
        for (int i = 0; i < 8; i++) h = Mix(h, w[i]);
        return h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Finish(uint h)
    {
        h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16;
        return h;
    }
}
