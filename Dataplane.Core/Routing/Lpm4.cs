namespace Dataplane.Core.Routing;

/// <summary>
/// IPv4 longest-prefix-match table in the DIR-24-8 layout of DPDK's rte_lpm: a directly indexed tbl24 of
/// 2^24 slots (one per /24) and, for /24s that hold longer prefixes, a tbl8 group of 256 slots (one per
/// address). Every slot is pre-expanded with the longest matching route, so a lookup is one load, or two
/// for addresses under a prefix longer than /24.
/// </summary>
/// <remarks>
/// The control plane fills the table (<see cref="Add"/>, <see cref="Remove"/>) and then publishes it inside
/// an immutable snapshot; workers only read it, so lookups take no locks. Mutating a table while workers
/// read it is not supported: build a new one and swap the snapshot. Addresses are host-order
/// <see cref="uint"/>s (198.18.0.1 = 0xC6120001).
/// </remarks>
public sealed unsafe partial class Lpm4 : IDisposable
{
    /// <summary>Written by <see cref="LookupBulk"/> for addresses that match no route.</summary>
    public const uint NotFound = uint.MaxValue;

    public const int MaxDepth = 32;

    /// <summary>Largest next hop a slot can carry (24 bits).</summary>
    public const uint MaxNextHop = LpmEntry.NextHopMask;

    private const int Tbl24Entries = 1 << 24;

    private uint* _tbl24;
    private uint* _tbl8;
    private readonly Tbl8Groups _groups;

    /// <summary>Rules by depth (prefix → next hop): the source of truth for restoring slots on delete.</summary>
    private readonly Dictionary<uint, uint>[] _rules;

    public Lpm4(int maxTbl8Groups = 4096)
    {
        if (maxTbl8Groups is < 1 or > (1 << 24)) throw new ArgumentOutOfRangeException(nameof(maxTbl8Groups));
        _tbl24 = (uint*)TableMemory.AllocZeroed(Tbl24Entries * sizeof(uint));
        _groups = new Tbl8Groups(maxTbl8Groups);
        _tbl8 = _groups.Slots;
        _rules = new Dictionary<uint, uint>[MaxDepth + 1];
        for (int d = 0; d <= MaxDepth; d++) _rules[d] = new Dictionary<uint, uint>();
    }

    /// <summary>A copy of <paramref name="source"/> (its slots, groups and rules) with room for at least
    /// <paramref name="maxTbl8Groups"/> groups, to be changed and published in a new snapshot while the source
    /// stays as it is for the workers still reading it.</summary>
    private Lpm4(Lpm4 source, int maxTbl8Groups)
    {
        _tbl24 = (uint*)TableMemory.AllocCopy(source._tbl24, Tbl24Entries * sizeof(uint));
        _groups = new Tbl8Groups(source._groups, Math.Max(maxTbl8Groups, source._groups.Capacity));
        _tbl8 = _groups.Slots;
        _rules = new Dictionary<uint, uint>[MaxDepth + 1];
        for (int d = 0; d <= MaxDepth; d++) _rules[d] = new Dictionary<uint, uint>(source._rules[d]);
        Count = source.Count;
    }

    /// <summary>A copy to apply a few route changes to: cheaper than refilling a table of many routes (a
    /// copy moves the slots once; a refill paints every route again).</summary>
    public Lpm4 Clone(int maxTbl8Groups) => new(this, maxTbl8Groups);

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

    ~Lpm4() { if (_tbl24 != null) TableMemory.Free(_tbl24); }
}
