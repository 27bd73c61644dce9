using System.Runtime.CompilerServices;

namespace Dataplane.Core.Routing;

/// <summary>
/// One 32-bit slot of the IPv6 trie. IPv6 depths need 8 bits, so instead of separate valid/group bits the
/// top byte is a tag: 0 = empty, 1..129 = a route of depth tag-1, 0xFF = pointer to a tbl8 group. The low
/// 24 bits hold the next hop or the group index. An empty slot is all zeros.
/// </summary>
public readonly struct Lpm6Entry(uint raw)
{
    public const uint NextHopMask = 0x00FF_FFFF;
    public const int TagShift = 24;
    public const uint GroupTag = 0xFFu << TagShift;

    public uint Raw => raw;

    public uint NextHop
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => raw & NextHopMask;
    }

    public bool IsGroup
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => raw >= GroupTag;
    }

    public bool IsValid => raw != 0 && !IsGroup;

    public int Group => (int)(raw & NextHopMask);

    public int Depth => (int)(raw >> TagShift) - 1;

    public static Lpm6Entry Route(uint nextHop, int depth) => new(nextHop | ((uint)(depth + 1) << TagShift));

    public static Lpm6Entry ToGroup(int group) => new((uint)group | GroupTag);

    public static Lpm6Entry Empty => default;

    /// <summary>Whether a route of <paramref name="depth"/> may paint over this (non-group) slot.</summary>
    public bool YieldsTo(int depth) => !IsValid || Depth <= depth;

    public override string ToString() =>
        IsGroup ? $"group {Group}" : IsValid ? $"nh {NextHop} /{Depth}" : "empty";
}
