using System.Buffers.Binary;

namespace Dataplane.Core.Routing;

// Control plane: rule bookkeeping and painting of trie slots. Never on the lookup path.
public sealed unsafe partial class Lpm6
{
    private const int Tbl24Depth = 24;

    /// <summary>Adds (or replaces the next hop of) the route <paramref name="prefix"/>/<paramref name="depth"/>.
    /// Bits of the prefix beyond the depth are ignored.</summary>
    /// <exception cref="InvalidOperationException">Not enough free tbl8 groups for the prefix.</exception>
    public void Add(UInt128 prefix, int depth, uint nextHop)
    {
        if (!TryAdd(prefix, depth, nextHop)) Tbl8Groups.ThrowExhausted(_groups.Capacity);
    }

    /// <summary>Adds a prefix given as 16 bytes in network order.</summary>
    public void Add(ReadOnlySpan<byte> prefix, int depth, uint nextHop) => Add(ToUInt128(prefix), depth, nextHop);

    /// <summary>Like <see cref="Add(UInt128, int, uint)"/>, but returns false (leaving the table unchanged)
    /// when the prefix needs more tbl8 groups than are free.</summary>
    public bool TryAdd(UInt128 prefix, int depth, uint nextHop)
    {
        ValidateDepth(depth);
        if (nextHop > MaxNextHop) throw new ArgumentOutOfRangeException(nameof(nextHop), "next hop must fit in 24 bits");
        prefix = Mask(prefix, depth);
        if (GroupsMissing(prefix, depth) > _groups.Available) return false;

        if (_rules[depth].TryAdd(prefix, nextHop)) Count++;
        else _rules[depth][prefix] = nextHop;
        Paint(prefix, depth, Lpm6Entry.Route(nextHop, depth).Raw);
        return true;
    }

    /// <summary>Removes the route; its addresses fall back to the longest shorter prefix covering them.
    /// False if the route was never added.</summary>
    public bool Remove(UInt128 prefix, int depth)
    {
        ValidateDepth(depth);
        prefix = Mask(prefix, depth);
        if (!_rules[depth].Remove(prefix)) return false;
        Count--;
        uint cover = CoveringRoute(prefix, depth);
        if (depth <= Tbl24Depth)
        {
            uint* slot = _tbl24 + (uint)(prefix >> 104);
            for (uint* end = slot + (1u << (Tbl24Depth - depth)); slot < end; slot++) UnpaintSlot(slot, depth, cover);
        }
        else
        {
            RemoveBelow(_tbl24 + (uint)(prefix >> 104), 1, prefix, depth, cover);
        }
        return true;
    }

    public bool Remove(ReadOnlySpan<byte> prefix, int depth) => Remove(ToUInt128(prefix), depth);

    /// <summary>The rule for exactly this prefix/depth, if any (not a lookup).</summary>
    public bool TryGetRule(UInt128 prefix, int depth, out uint nextHop)
    {
        ValidateDepth(depth);
        return _rules[depth].TryGetValue(Mask(prefix, depth), out nextHop);
    }

    public static UInt128 Mask(UInt128 prefix, int depth) => depth == 0 ? 0 : prefix & (UInt128.MaxValue << (128 - depth));

    public static UInt128 ToUInt128(ReadOnlySpan<byte> address16) =>
        address16.Length < 16 ? throw new ArgumentException("an IPv6 address is 16 bytes.", nameof(address16))
            : BinaryPrimitives.ReadUInt128BigEndian(address16);

    /// <summary>Group level (1-based, below tbl24) whose slots a prefix longer than /24 is painted into.</summary>
    private static int LevelOf(int depth) => (depth - Tbl24Depth + 7) / 8;

    /// <summary>Address byte that indexes a group at <paramref name="level"/> (bytes 0..2 index tbl24).</summary>
    private static byte ByteAt(UInt128 address, int level) => (byte)(address >> (128 - 8 * (3 + level)));

    private int GroupsMissing(UInt128 prefix, int depth)
    {
        if (depth <= Tbl24Depth) return 0;
        int last = LevelOf(depth);
        uint* slot = _tbl24 + (uint)(prefix >> 104);
        for (int level = 1; level <= last; level++)
        {
            if (!new Lpm6Entry(*slot).IsGroup) return last - level + 1;
            slot = _groups[new Lpm6Entry(*slot).Group] + ByteAt(prefix, level);
        }
        return 0;
    }

    private void Paint(UInt128 prefix, int depth, uint route)
    {
        uint* slot = _tbl24 + (uint)(prefix >> 104);
        if (depth <= Tbl24Depth)
        {
            for (uint* end = slot + (1u << (Tbl24Depth - depth)); slot < end; slot++) PaintSlot(slot, depth, route);
            return;
        }
        int last = LevelOf(depth);
        for (int level = 1; ; level++)
        {
            uint* group = GroupBelow(slot);
            slot = group + ByteAt(prefix, level);
            if (level == last) break;
        }
        int span = 1 << (Tbl24Depth + 8 * last - depth);
        for (uint* end = slot + span; slot < end; slot++) PaintSlot(slot, depth, route);
    }

    /// <summary>The group a slot points at, creating it (inheriting the slot's route) if the slot is a leaf.
    /// The group is filled before the pointer is written.</summary>
    private uint* GroupBelow(uint* slot)
    {
        if (!new Lpm6Entry(*slot).IsGroup) *slot = Lpm6Entry.ToGroup(_groups.Allocate(*slot)).Raw;
        return _groups[new Lpm6Entry(*slot).Group];
    }

    /// <summary>Paints a route into a slot if it is empty or holds a route no longer than
    /// <paramref name="depth"/>; a group pointer is painted throughout the subtree.</summary>
    private void PaintSlot(uint* slot, int depth, uint route)
    {
        var e = new Lpm6Entry(*slot);
        if (e.IsGroup)
        {
            uint* child = _groups[e.Group];
            for (int i = 0; i < Tbl8Groups.GroupSize; i++) PaintSlot(child + i, depth, route);
        }
        else if (e.YieldsTo(depth)) *slot = route;
    }

    /// <summary>Walks down to the removed route's level, unpaints its range, and folds every group on the way
    /// back up that became uniform.</summary>
    private void RemoveBelow(uint* parent, int level, UInt128 prefix, int depth, uint cover)
    {
        var p = new Lpm6Entry(*parent);
        if (!p.IsGroup) return; // cannot happen while the rule list is consistent
        uint* slot = _groups[p.Group] + ByteAt(prefix, level);
        int last = LevelOf(depth);
        if (level < last)
        {
            RemoveBelow(slot, level + 1, prefix, depth, cover);
        }
        else
        {
            int span = 1 << (Tbl24Depth + 8 * last - depth);
            for (uint* end = slot + span; slot < end; slot++) UnpaintSlot(slot, depth, cover);
        }
        TryFold(parent);
    }

    private void UnpaintSlot(uint* slot, int depth, uint cover)
    {
        var e = new Lpm6Entry(*slot);
        if (e.IsGroup)
        {
            uint* child = _groups[e.Group];
            for (int i = 0; i < Tbl8Groups.GroupSize; i++) UnpaintSlot(child + i, depth, cover);
            TryFold(slot);
        }
        else if (e.IsValid && e.Depth == depth) *slot = cover;
    }

    /// <summary>A group whose 256 slots hold the same route (or are all empty) folds into its parent slot.</summary>
    private void TryFold(uint* parent)
    {
        int g = new Lpm6Entry(*parent).Group;
        if (!_groups.IsUniform(g, out uint value) || new Lpm6Entry(value).IsGroup) return;
        *parent = value;
        _groups.Release(g);
    }

    private uint CoveringRoute(UInt128 prefix, int depth)
    {
        for (int d = depth - 1; d >= 0; d--)
            if (_rules[d].TryGetValue(Mask(prefix, d), out uint nh)) return Lpm6Entry.Route(nh, d).Raw;
        return Lpm6Entry.Empty.Raw;
    }

    private static void ValidateDepth(int depth)
    {
        if ((uint)depth > MaxDepth) throw new ArgumentOutOfRangeException(nameof(depth), "depth must be 0..128");
    }
}
