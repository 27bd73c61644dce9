using System.Runtime.CompilerServices;

namespace Dataplane.Core.Routing;

// Control plane: rule bookkeeping and painting of slots. Never on the lookup path.
public sealed unsafe partial class Lpm4
{
    private const int Tbl24Depth = 24;

    /// <summary>Adds (or replaces the next hop of) the route <paramref name="prefix"/>/<paramref name="depth"/>.
    /// Bits of the prefix beyond the depth are ignored.</summary>
    /// <exception cref="InvalidOperationException">No free tbl8 group for a prefix longer than /24.</exception>
    public void Add(uint prefix, int depth, uint nextHop)
    {
        if (!TryAdd(prefix, depth, nextHop)) Tbl8Groups.ThrowExhausted(_groups.Capacity);
    }

    /// <summary>Like <see cref="Add"/>, but returns false (leaving the table unchanged) when a prefix longer
    /// than /24 needs a tbl8 group and none is free.</summary>
    public bool TryAdd(uint prefix, int depth, uint nextHop)
    {
        ValidateDepth(depth);
        if (nextHop > MaxNextHop) throw new ArgumentOutOfRangeException(nameof(nextHop), "next hop must fit in 24 bits");
        prefix = Mask(prefix, depth);
        if (depth > Tbl24Depth && (_tbl24[prefix >> 8] & LpmEntry.GroupBit) == 0 && _groups.Available == 0)
            return false;

        if (_rules[depth].TryAdd(prefix, nextHop)) Count++;
        else _rules[depth][prefix] = nextHop;
        Paint(prefix, depth, LpmEntry.Route(nextHop, depth).Raw);
        return true;
    }

    /// <summary>Removes the route; its addresses fall back to the longest shorter prefix covering them.
    /// False if the route was never added.</summary>
    public bool Remove(uint prefix, int depth)
    {
        ValidateDepth(depth);
        prefix = Mask(prefix, depth);
        if (!_rules[depth].Remove(prefix)) return false;
        Count--;
        Unpaint(prefix, depth, CoveringRoute(prefix, depth));
        return true;
    }

    /// <summary>The rule for exactly this prefix/depth, if any (not a lookup).</summary>
    public bool TryGetRule(uint prefix, int depth, out uint nextHop)
    {
        ValidateDepth(depth);
        return _rules[depth].TryGetValue(Mask(prefix, depth), out nextHop);
    }

    public static uint Mask(uint prefix, int depth) => depth == 0 ? 0 : prefix & (uint.MaxValue << (32 - depth));

    /// <summary>Writes <paramref name="route"/> into every slot of the prefix's range that is empty or holds a
    /// route no longer than <paramref name="depth"/>; slots pointing at groups are painted inside the group.</summary>
    private void Paint(uint prefix, int depth, uint route)
    {
        if (depth <= Tbl24Depth)
        {
            uint* slot = _tbl24 + (prefix >> 8);
            uint* end = slot + (1u << (Tbl24Depth - depth));
            for (; slot < end; slot++)
            {
                if ((*slot & LpmEntry.GroupBit) != 0) PaintRange(_groups[(int)(*slot & LpmEntry.NextHopMask)], 256, depth, route);
                else if (YieldsTo(*slot, depth)) *slot = route;
            }
            return;
        }

        uint* parent = _tbl24 + (prefix >> 8);
        if ((*parent & LpmEntry.GroupBit) == 0)
        {
            // The new group inherits the /24's current slot; its contents are written before the pointer.
            int g = _groups.Allocate(*parent);
            *parent = LpmEntry.ToGroup(g).Raw;
        }
        uint* group = _groups[(int)(*parent & LpmEntry.NextHopMask)];
        PaintRange(group + (prefix & 0xFF), 1 << (MaxDepth - depth), depth, route);
    }

    private static void PaintRange(uint* slot, int count, int depth, uint route)
    {
        for (uint* end = slot + count; slot < end; slot++)
            if (YieldsTo(*slot, depth)) *slot = route;
    }

    /// <summary><see cref="LpmEntry.YieldsTo"/> on the raw value: a route of <paramref name="depth"/> may
    /// paint over an empty slot or one holding a route no longer than itself (group slots are not passed
    /// here). Spelled out because short prefixes repaint millions of slots.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool YieldsTo(uint raw, int depth) =>
        (raw & LpmEntry.ValidBit) == 0 || (int)(raw >> LpmEntry.DepthShift) <= depth;

    /// <summary>Replaces the slots the removed route painted (same depth) with <paramref name="cover"/>, then
    /// folds groups that became uniform back into their tbl24 slot.</summary>
    private void Unpaint(uint prefix, int depth, uint cover)
    {
        if (depth <= Tbl24Depth)
        {
            uint* slot = _tbl24 + (prefix >> 8);
            uint* end = slot + (1u << (Tbl24Depth - depth));
            for (; slot < end; slot++)
            {
                if ((*slot & LpmEntry.GroupBit) != 0)
                {
                    UnpaintRange(_groups[(int)(*slot & LpmEntry.NextHopMask)], 256, depth, cover);
                    TryFold(slot);
                }
                else if (IsRouteOfDepth(*slot, depth)) *slot = cover;
            }
            return;
        }

        uint* parent = _tbl24 + (prefix >> 8);
        if ((*parent & LpmEntry.GroupBit) == 0) return; // cannot happen while the rule list is consistent
        uint* group = _groups[(int)(*parent & LpmEntry.NextHopMask)];
        UnpaintRange(group + (prefix & 0xFF), 1 << (MaxDepth - depth), depth, cover);
        TryFold(parent);
    }

    private static void UnpaintRange(uint* slot, int count, int depth, uint cover)
    {
        for (uint* end = slot + count; slot < end; slot++)
            if (IsRouteOfDepth(*slot, depth)) *slot = cover;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsRouteOfDepth(uint raw, int depth) =>
        (raw & LpmEntry.ValidBit) != 0 && (int)(raw >> LpmEntry.DepthShift) == depth;

    /// <summary>A group whose 256 slots are equal carries no more information than one tbl24 slot.</summary>
    private void TryFold(uint* parent)
    {
        int g = (int)(*parent & LpmEntry.NextHopMask);
        if (!_groups.IsUniform(g, out uint value)) return;
        *parent = value;
        _groups.Release(g);
    }

    /// <summary>Slot value of the longest rule strictly shorter than <paramref name="depth"/> that covers the
    /// prefix, or empty.</summary>
    private uint CoveringRoute(uint prefix, int depth)
    {
        for (int d = depth - 1; d >= 0; d--)
            if (_rules[d].TryGetValue(Mask(prefix, d), out uint nh)) return LpmEntry.Route(nh, d).Raw;
        return LpmEntry.Empty.Raw;
    }

    private static void ValidateDepth(int depth)
    {
        if ((uint)depth > MaxDepth) throw new ArgumentOutOfRangeException(nameof(depth), "depth must be 0..32");
    }
}
