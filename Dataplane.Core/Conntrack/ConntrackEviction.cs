using System.Runtime.CompilerServices;

namespace Dataplane.Core.Conntrack;

/// <summary>
/// A full table under pressure, as Cilium's LRU CT maps are never "full": an insert into a full pool evicts the
/// oldest embryonic connection (no reply seen yet: a SYN that was never answered, a one-way UDP or ICMP flow) rather
/// than failing, and one endpoint cannot take the table from the others. Every connection enters an age queue (a
/// ring of entry numbers, each entry's <see cref="CtEntry.Birth"/> the position it was queued at, so a slot whose
/// entry was freed or re-used since is recognised and skipped); connections that got a reply leave the queue when
/// they reach its head. Each endpoint (<see cref="CtEntry.Owner"/>) has a share, a quarter of the table: an endpoint
/// holding more than its share may only evict its own embryonic connections, so a pod flooding SYNs recycles its own
/// entries, while any other endpoint still evicts the flood's oldest ones. Only when the first
/// <see cref="EvictionScan"/> queued connections hold nothing the inserter may take does the insert fail (the caller
/// drops with CT_MAP_INSERTION_FAILED, 155). Established connections are never evicted; they expire by their timeout.
/// </summary>
public sealed unsafe partial class ConntrackTable
{
    /// <summary>Owners' counts are kept in this many slots (endpoint id modulo: more local endpoints than this share slots).</summary>
    private const int OwnerSlots = 4096;
    private const uint OwnerMask = OwnerSlots - 1;
    /// <summary>Queued connections an eviction looks at before it gives up (bounds an insert's cost).</summary>
    public const int EvictionScan = 64;

    /// <summary>The age queue: entry numbers in insert order, positions <see cref="_ageHead"/> … <see cref="_ageTail"/> − 1.</summary>
    private uint* _age;
    private ulong _ageHead, _ageTail;
    /// <summary>Live connections per owner slot.</summary>
    private int* _owned;

    /// <summary>
    /// Whether a full table evicts (default). Off, a full table refuses every new connection with 155 as a plain BPF
    /// hash map does — what the eBPF backend's dp_ct does, and what its differential tests compare against.
    /// </summary>
    public bool EvictsWhenFull { get; init; } = true;

    /// <summary>Connections one endpoint may hold before, in a full table, it can only evict its own.</summary>
    public int EndpointShare { get; }

    /// <summary>Connections evicted to make room since the table was created.</summary>
    public long Evictions { get; private set; }

    /// <summary>Live connections opened by <paramref name="owner"/> (and any endpoint sharing its slot).</summary>
    public int OwnedBy(uint owner) => _owned[owner & OwnerMask];

    /// <summary>No reply seen yet: the connection a flood leaves behind, and the cheapest to lose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Embryonic(in CtEntry ce) => (ce.State & TcpTracker.SeenReply) == 0;

    /// <summary>Queues <paramref name="e"/> as the youngest connection; a full queue forgets its oldest slot.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Enqueue(uint e)
    {
        if (_ageTail - _ageHead == (ulong)Capacity) _ageHead++;
        _age[_ageTail % (ulong)Capacity] = e;
        _entries[e].Birth = (uint)_ageTail;
        _ageTail++;
    }

    /// <summary>
    /// Frees the oldest embryonic connection <paramref name="owner"/> may take: its own, or, while it holds no more
    /// than its share, anyone's. False when none is among the first <see cref="EvictionScan"/> queued.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryEvict(uint owner)
    {
        bool overShare = _owned[owner & OwnerMask] >= EndpointShare;
        ulong end = Math.Min(_ageTail, _ageHead + EvictionScan);
        for (ulong pos = _ageHead; pos < end; pos++)
        {
            uint e = _age[pos % (ulong)Capacity];
            ref CtEntry ce = ref _entries[e];
            bool queued = ce.Expires != 0 && ce.Birth == (uint)pos && Embryonic(in ce);
            if (!queued)
            {
                // Freed, re-used or answered since it was queued: it leaves the queue once it is at the head.
                if (pos == _ageHead) _ageHead++;
                continue;
            }
            if (overShare && (ce.Owner & OwnerMask) != (owner & OwnerMask)) continue;
            if (pos == _ageHead) _ageHead++;
            Remove(e);
            Evictions++;
            return true;
        }
        return false;
    }
}
