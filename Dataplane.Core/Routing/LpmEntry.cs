using System.Runtime.CompilerServices;

namespace Dataplane.Core.Routing;

/// <summary>
/// One 32-bit slot of the IPv4 tables, as in rte_lpm: bits 0..23 hold the next hop (or, for a group
/// pointer, the tbl8 group index), bit 24 says the slot holds a route, bit 25 says it points at a tbl8
/// group, bits 26..31 hold the depth of the route that painted it. An empty slot is all zeros, so a miss
/// reads as next hop 0 without a branch.
/// </summary>
public readonly struct LpmEntry(uint raw)
{
    public const uint NextHopMask = 0x00FF_FFFF;
    public const uint ValidBit = 1u << 24;
    public const uint GroupBit = 1u << 25;
    public const int DepthShift = 26;

    public uint Raw => raw;

    public uint NextHop
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => raw & NextHopMask;
    }

    /// <summary>True for a route slot; group pointers are not routes.</summary>
    public bool IsValid
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (raw & ValidBit) != 0;
    }

    public bool IsGroup
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (raw & GroupBit) != 0;
    }

    public int Group => (int)(raw & NextHopMask);

    public int Depth => (int)(raw >> DepthShift);

    public static LpmEntry Route(uint nextHop, int depth) => new(nextHop | ValidBit | ((uint)depth << DepthShift));

    public static LpmEntry ToGroup(int group) => new((uint)group | GroupBit);

    public static LpmEntry Empty => default;

    /// <summary>Whether a route of <paramref name="depth"/> may paint over this (non-group) slot.</summary>
    public bool YieldsTo(int depth) => !IsValid || Depth <= depth;

    public override string ToString() =>
        IsGroup ? $"group {Group}" : IsValid ? $"nh {NextHop} /{Depth}" : "empty";
}
