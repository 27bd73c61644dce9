namespace Dataplane.Core.Routing;

/// <summary>
/// IPv6 longest-prefix-match table: a multibit trie in the style of DPDK's rte_lpm6. The first 24 bits index
/// a direct tbl24; each further 8 bits index a 256-slot tbl8 group, up to 13 levels for a /128. Slots are
/// pre-expanded with the longest matching route, so a lookup walks one slot per level until it reaches a
/// route or empty slot: one load for prefixes up to /24, two up to /32, four for a /48.
/// </summary>
/// <remarks>
/// Built by the control plane, then published in an immutable snapshot and only read by workers (no
/// locks). Addresses are <see cref="UInt128"/> values whose most significant bits are the first bytes of
/// the address on the wire (2001:db8::1 = 0x20010db8_00000000_00000000_00000001).
/// </remarks>
public sealed unsafe partial class Lpm6 : IDisposable
{
    /// <summary>Written by <see cref="LookupBulk"/> for addresses that match no route.</summary>
    public const uint NotFound = uint.MaxValue;

    public const int MaxDepth = 128;

    /// <summary>Largest next hop a slot can carry (24 bits).</summary>
    public const uint MaxNextHop = Lpm6Entry.NextHopMask;

    private const int Tbl24Entries = 1 << 24;

    private uint* _tbl24;
    private uint* _tbl8;
    private readonly Tbl8Groups _groups;

    /// <summary>Rules by depth (prefix → next hop): the source of truth for restoring slots on delete.</summary>
    private readonly Dictionary<UInt128, uint>[] _rules;

    public Lpm6(int maxTbl8Groups = 1 << 16)
    {
        if (maxTbl8Groups is < 1 or > (1 << 24)) throw new ArgumentOutOfRangeException(nameof(maxTbl8Groups));
        _tbl24 = (uint*)TableMemory.AllocZeroed(Tbl24Entries * sizeof(uint));
        _groups = new Tbl8Groups(maxTbl8Groups);
        _tbl8 = _groups.Slots;
        _rules = new Dictionary<UInt128, uint>[MaxDepth + 1];
        for (int d = 0; d <= MaxDepth; d++) _rules[d] = new Dictionary<UInt128, uint>();
    }

    /// <summary>A copy of <paramref name="source"/> (its slots, groups and rules) with room for at least
    /// <paramref name="maxTbl8Groups"/> groups, to be changed and published in a new snapshot while the source
    /// stays as it is for the workers still reading it.</summary>
    private Lpm6(Lpm6 source, int maxTbl8Groups)
    {
        _tbl24 = (uint*)TableMemory.AllocCopy(source._tbl24, Tbl24Entries * sizeof(uint));
        _groups = new Tbl8Groups(source._groups, Math.Max(maxTbl8Groups, source._groups.Capacity));
        _tbl8 = _groups.Slots;
        _rules = new Dictionary<UInt128, uint>[MaxDepth + 1];
        for (int d = 0; d <= MaxDepth; d++) _rules[d] = new Dictionary<UInt128, uint>(source._rules[d]);
        Count = source.Count;
    }

    /// <summary>A copy to apply a few route changes to: cheaper than refilling a table of many routes (a
    /// copy moves the slots once; a refill paints every route again).</summary>
    public Lpm6 Clone(int maxTbl8Groups) => new(this, maxTbl8Groups);

    /// <summary>Number of rules (distinct prefix/depth pairs).</summary>
    public int Count { get; private set; }

    public int Tbl8GroupsInUse => _groups.InUse;

    public int Tbl8GroupCapacity => _groups.Capacity;

    public void Dispose()
    {
        if (_tbl24 != null) { TableMemory.Free(_tbl24); _tbl24 = null; }
        _tbl8 = null;
        _groups.Dispose();
        GC.SuppressFinalize(this);
    }

    ~Lpm6() { if (_tbl24 != null) TableMemory.Free(_tbl24); }
}
