using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dataplane.Core.Conntrack;

/// <summary>
/// The connection table: a fixed pool of 64-byte <see cref="CtEntry"/> lines plus an open-addressing index of
/// 64-byte buckets (eight 32-bit signatures, then eight entry references), in the spirit of DPDK's cuckoo hash
/// buckets. Every connection has two index references — its forward tuple and its reply tuple — so a packet
/// of either direction finds it with one probe sequence, and learns which direction it is.
/// Nothing is allocated after construction; a full table evicts the oldest embryonic connection the inserting
/// endpoint may take (ConntrackEviction.cs), and only when there is none makes <c>TryInsert</c> return false (the
/// caller drops with CT_MAP_INSERTION_FAILED). Single writer: the worker that owns the table; expiry runs in
/// budgeted slices (<see cref="Collect"/>) between bursts. The entries and translations live either in this
/// process's memory or in a <see cref="ConntrackFile"/> that outlives it (the index is always private and derived):
/// the lookup and update paths are the same code over the same pointers either way.
/// </summary>
public sealed unsafe partial class ConntrackTable : IDisposable
{
    private const int SlotsPerBucket = 8;
    /// <summary>Index references: 0 = never used (ends a probe), Tombstone = deleted, else entry+1 | reply bit.</summary>
    private const uint EmptyRef = 0, Tombstone = 0x7FFFFFFF, ReplyBit = 0x80000000;
    /// <summary>Index slots per connection (forward + reply) and the index's target load.</summary>
    private const double IndexLoad = 0.7;

    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private struct Bucket
    {
        public fixed uint Sig[SlotsPerBucket];
        public fixed uint Ref[SlotsPerBucket];
    }

    private Bucket* _buckets;
    private CtEntry* _entries;
    private CtNat* _nat;
    private uint* _free;
    private readonly ConntrackFile? _file;
    private readonly uint _bucketMask;
    private int _freeCount;
    private int _tombstones;
    private int _gcCursor;

    public ConntrackTable(int maxFlows) : this(maxFlows, null)
    {
        _entries = (CtEntry*)Routing.TableMemory.AllocZeroed((nuint)maxFlows * 64);
        _nat = (CtNat*)Routing.TableMemory.AllocZeroed((nuint)maxFlows * (nuint)sizeof(CtNat));
        for (int i = 0; i < maxFlows; i++) _free[i] = (uint)(maxFlows - 1 - i);
        _freeCount = maxFlows;
    }

    /// <summary>
    /// A table whose connections live in <paramref name="file"/> (shared memory that outlives this process), which
    /// the table owns from now on. When the file was <see cref="ConntrackFile.Reused"/>, its connections are
    /// recovered: those still alive at <paramref name="now"/> and well formed are indexed (<see cref="Recovered"/>),
    /// the rest — expired while nobody tracked them, or torn by a crash mid-write — are cleared. The index and the
    /// free list are rebuilt from the entries, so nothing of a crashed writer's half-done update survives.
    /// </summary>
    public ConntrackTable(ConntrackFile file, uint now) : this(file.Capacity, file)
    {
        _entries = file.Entries;
        _nat = file.Nat;
        _freeCount = 0;
        var embryonic = new List<(uint Birth, uint Entry)>();
        for (int i = file.Capacity - 1; i >= 0; i--)
        {
            ref CtEntry ce = ref _entries[i];
            if (ce.Expires != 0 && file.Reused && ce.Expires > now && WellFormed(in ce, in _nat[i]))
            {
                Place(ce.Key.Hash(), (uint)i + 1);
                Place(ReplyKeyOf((uint)i).Hash(), ((uint)i + 1) | ReplyBit);
                _owned[ce.Owner & OwnerMask]++;
                if (Embryonic(in ce)) embryonic.Add((ce.Birth, (uint)i));
                Recovered++;
                continue;
            }
            if (ce.Expires != 0 || file.Reused) { ce = default; _nat[i] = default; }
            _free[_freeCount++] = (uint)i;
        }
        // The age order of the connections that may be evicted, as the previous process left it.
        embryonic.Sort();
        foreach (var (_, e) in embryonic) Enqueue(e);
    }

    private ConntrackTable(int maxFlows, ConntrackFile? file)
    {
        if (maxFlows is < 1 or > (1 << 30)) throw new ArgumentOutOfRangeException(nameof(maxFlows));
        _file = file;
        Capacity = maxFlows;
        long slots = (long)Math.Ceiling(2.0 * maxFlows / IndexLoad);
        BucketCount = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, (slots + SlotsPerBucket - 1) / SlotsPerBucket));
        _bucketMask = (uint)BucketCount - 1;
        // Huge-page backed where the kernel allows (Routing.TableMemory): a random lookup into a 1 M-flow table
        // otherwise pays a page walk for the bucket, the entry and the NAT line.
        _buckets = (Bucket*)Routing.TableMemory.AllocZeroed((nuint)BucketCount * 64);
        _free = (uint*)NativeMemory.Alloc((nuint)maxFlows * sizeof(uint));
        _age = (uint*)NativeMemory.Alloc((nuint)maxFlows * sizeof(uint));
        _owned = (int*)NativeMemory.AllocZeroed(OwnerSlots * sizeof(int));
        EndpointShare = Math.Max(1, maxFlows / 4);
    }

    /// <summary>A recovered entry a crash cannot have left half-written: a known family, and a translation exactly when its flags say so.</summary>
    private static bool WellFormed(in CtEntry ce, in CtNat nat)
    {
        if (ce.Key.Family is not (4 or 6)) return false;
        return (ce.Flags & CtFlags.Nat) switch
        {
            0 => nat.Kind == CtNatKind.None,
            CtFlags.Dnat => nat.Kind == CtNatKind.Dnat,
            CtFlags.Snat => nat.Kind == CtNatKind.Snat,
            _ => false,
        };
    }

    /// <summary>Connections found alive in the shared file this table re-attached (0 for a table in private memory).</summary>
    public int Recovered { get; }

    /// <summary>The shared file the connections live in; null when they live in this process's memory only.</summary>
    public ConntrackFile? File => _file;

    public int Capacity { get; }
    public int BucketCount { get; }
    public int Count => Capacity - _freeCount;

    /// <summary>Native bytes held: index buckets, entries, NAT translations, the free list, the age queue and the owners' counts.</summary>
    public long MemoryBytes => (long)BucketCount * 64 + (long)Capacity * (64 + sizeof(CtNat) + 2 * sizeof(uint)) + OwnerSlots * sizeof(int);

    /// <summary>The address translation of a connection (Kind None unless created with one).</summary>
    public ref CtNat Nat(uint entry) => ref _nat[entry];

    /// <summary>
    /// The tuple replies of a connection carry: the reversed forward tuple, with the backend as source for a
    /// DNATed connection and the translated address and port as destination for an SNATed one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CtKey ReplyKeyOf(uint entry)
    {
        ref CtEntry ce = ref _entries[entry];
        if ((ce.Flags & CtFlags.Nat) == 0) return ce.Key.Reverse();
        ref CtNat n = ref _nat[entry];
        ref CtKey k = ref ce.Key;
        if ((ce.Flags & CtFlags.Dnat) != 0) return new CtKey(n.Addr, k.Src, n.Port, k.SrcPort, k.Proto, k.Family);
        // ICMP echo keys carry the identifier as both ports, so the translated identifier is both.
        ushort replySrcPort = k.Proto is 1 or 58 ? n.Port : k.DstPort;
        return new CtKey(k.Dst, n.Addr, replySrcPort, n.Port, k.Proto, k.Family);
    }

    public ref CtEntry this[uint entry]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _entries[entry];
    }

    /// <summary>Starts loading the index bucket <paramref name="key"/> hashes to, so a lookup a little later in
    /// the batch finds it in cache (many misses in flight instead of one at a time).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(in CtKey key) => PrefetchBucket(key.Hash());

    /// <summary>First step of a batched lookup (DPDK's rte_hash_lookup_bulk, VPP's bihash prefetch): starts loading
    /// the index bucket of <paramref name="hash"/> (<see cref="CtKey.Hash"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchBucket(ulong hash)
    {
        if (Sse.IsSupported) Sse.Prefetch0(_buckets + ((uint)hash & _bucketMask));
    }

    /// <summary>
    /// Second step, once the bucket of <paramref name="hash"/> has had time to arrive: starts loading the entry its
    /// first signature match refers to, and that connection's translation when the match is a reply reference
    /// (a reply tuple is compared against the translated one). Returns the entry, or <see cref="NoEntry"/> when no
    /// signature matches in the home bucket (a miss, or a connection displaced to a later bucket: the lookup
    /// still finds it, only without this head start).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint PrefetchEntry(ulong hash)
    {
        Bucket* bk = _buckets + ((uint)hash & _bucketMask);
        uint hits = Vector256.Equals(Vector256.Load(bk->Sig), Vector256.Create(Signature(hash))).ExtractMostSignificantBits();
        if (hits == 0) return NoEntry;
        // Signatures are never 0 and free or deleted slots hold 0, so a match is a live reference.
        uint r = bk->Ref[BitOperations.TrailingZeroCount(hits)];
        uint e = (r & ~ReplyBit) - 1;
        if (e >= (uint)Capacity) return NoEntry;
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(_entries + e);
            if ((r & ReplyBit) != 0) PrefetchNat(e);
        }
        return e;
    }

    /// <summary>Third step for a connection whose entry says it is translated: starts loading its
    /// <see cref="CtNat"/> (20 bytes, so both lines when it straddles two).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchNat(uint entry)
    {
        if (!Sse.IsSupported) return;
        byte* n = (byte*)(_nat + entry);
        Sse.Prefetch0(n);
        Sse.Prefetch0(n + sizeof(CtNat) - 1);
    }

    /// <summary>What <see cref="PrefetchEntry"/> returns when it found nothing to load.</summary>
    public const uint NoEntry = uint.MaxValue;

    /// <summary>Finds the connection <paramref name="key"/> belongs to, in either direction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in CtKey key, out uint entry, out bool reply) => TryLookup(in key, key.Hash(), out entry, out reply);

    /// <summary>As <see cref="TryLookup(in CtKey, out uint, out bool)"/>, with the key's <see cref="CtKey.Hash"/> already computed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in CtKey key, ulong h, out uint entry, out bool reply)
    {
        uint sig = Signature(h);
        uint b = (uint)h & _bucketMask;
        var want = Vector256.Create(sig);
        for (uint probes = 0; probes <= _bucketMask; probes++)
        {
            Bucket* bk = _buckets + b;
            uint hits = Vector256.Equals(Vector256.Load(bk->Sig), want).ExtractMostSignificantBits();
            while (hits != 0)
            {
                int i = BitOperations.TrailingZeroCount(hits);
                hits &= hits - 1;
                uint r = bk->Ref[i];
                if (r == Tombstone || r == EmptyRef) continue;
                uint e = (r & ~ReplyBit) - 1;
                bool isReply = (r & ReplyBit) != 0;
                ref CtEntry candidate = ref _entries[e];
                bool match = !isReply ? candidate.Key.Equals(key)
                    : (candidate.Flags & CtFlags.Nat) == 0 ? candidate.Key.Equals(key.Reverse()) : ReplyKeyOf(e).Equals(key);
                if (match)
                {
                    entry = e; reply = isReply;
                    return true;
                }
            }
            // A never-used slot ends the probe sequence: no insert ever went past this bucket.
            if (Vector256.Equals(Vector256.Load(bk->Ref), Vector256<uint>.Zero).ExtractMostSignificantBits() != 0) break;
            b = (b + 1) & _bucketMask;
        }
        entry = 0; reply = false;
        return false;
    }

    /// <summary>
    /// Adds a connection whose forward tuple is <paramref name="key"/> (the caller has looked it up and not
    /// found it). False when the pool is exhausted: nothing changes.
    /// </summary>
    public bool TryInsert(in CtKey key, uint expires, out uint entry, uint owner = 0) => TryInsert(key, default, expires, out entry, owner);

    /// <summary>
    /// Adds a connection whose forward tuple is <paramref name="key"/> and whose packets are translated as
    /// <paramref name="nat"/> says: replies are indexed under the translated reply tuple
    /// (<see cref="ReplyKeyOf"/>), e.g. backend → client for a DNATed service connection. The caller has checked
    /// that neither tuple is taken. <paramref name="owner"/> is the local endpoint opening it (0: none). A full pool
    /// first evicts the oldest embryonic connection <paramref name="owner"/> may take (<see cref="TryEvict"/>); false
    /// when none: nothing changes.
    /// </summary>
    public bool TryInsert(in CtKey key, in CtNat nat, uint expires, out uint entry, uint owner = 0)
    {
        entry = 0;
        if (_freeCount == 0 && !(EvictsWhenFull && TryEvict(owner))) return false;
        uint e = _free[--_freeCount];
        ref CtEntry ce = ref _entries[e];
        ce = default;
        ce.Key = key;
        ce.Owner = owner;
        ce.Flags = nat.Kind switch { CtNatKind.Dnat => CtFlags.Dnat, CtNatKind.Snat => CtFlags.Snat, _ => 0 };
        _nat[e] = nat;
        _owned[owner & OwnerMask]++;
        Enqueue(e);
        // The expiry commits the entry (0 = free): written last, so a process killed mid-insert leaves a free line
        // in a shared file, never a live one with half its fields.
        Volatile.Write(ref ce.Expires, expires == 0 ? 1 : expires);
        Place(key.Hash(), e + 1);
        Place(ReplyKeyOf(e).Hash(), (e + 1) | ReplyBit);
        entry = e;
        return true;
    }

    /// <summary>Removes a connection and frees its entry.</summary>
    public void Remove(uint entry)
    {
        ref CtEntry ce = ref _entries[entry];
        if (ce.Expires == 0) return;
        Unplace(ce.Key.Hash(), entry + 1);
        Unplace(ReplyKeyOf(entry).Hash(), (entry + 1) | ReplyBit);
        _owned[ce.Owner & OwnerMask]--;
        ce = default;
        _nat[entry] = default;
        _free[_freeCount++] = entry;
    }

    /// <summary>
    /// Expires connections whose <see cref="CtEntry.Expires"/> is at or before <paramref name="now"/>,
    /// scanning at most <paramref name="budget"/> entries from where the last call stopped, so the owner can
    /// spread the sweep over many idle moments. Rebuilds the index when deletions have left many tombstones.
    /// Returns the number of connections removed.
    /// </summary>
    public int Collect(uint now, int budget)
    {
        int removed = 0;
        for (int n = 0; n < budget && n < Capacity; n++)
        {
            uint e = (uint)_gcCursor;
            _gcCursor = _gcCursor + 1 == Capacity ? 0 : _gcCursor + 1;
            uint exp = _entries[e].Expires;
            if (exp != 0 && exp <= now) { Remove(e); removed++; }
        }
        if (_tombstones > BucketCount * SlotsPerBucket / 4) RebuildIndex();
        return removed;
    }

    private void Place(ulong hash, uint reference)
    {
        uint b = (uint)hash & _bucketMask;
        while (true)
        {
            Bucket* bk = _buckets + b;
            for (int i = 0; i < SlotsPerBucket; i++)
            {
                uint r = bk->Ref[i];
                if (r == EmptyRef || r == Tombstone)
                {
                    if (r == Tombstone) _tombstones--;
                    bk->Sig[i] = Signature(hash);
                    bk->Ref[i] = reference;
                    return;
                }
            }
            // The index has twice the slots of the entry pool over IndexLoad, so a free slot always exists.
            b = (b + 1) & _bucketMask;
        }
    }

    private void Unplace(ulong hash, uint reference)
    {
        uint b = (uint)hash & _bucketMask;
        for (uint probes = 0; probes <= _bucketMask; probes++)
        {
            Bucket* bk = _buckets + b;
            for (int i = 0; i < SlotsPerBucket; i++)
            {
                if (bk->Ref[i] != reference) continue;
                bk->Ref[i] = Tombstone;
                bk->Sig[i] = 0;
                _tombstones++;
                return;
            }
            b = (b + 1) & _bucketMask;
        }
    }

    /// <summary>Re-derives the index from the live entries (the entries are the source of truth).</summary>
    private void RebuildIndex()
    {
        NativeMemory.Clear(_buckets, (nuint)BucketCount * 64);
        _tombstones = 0;
        for (uint e = 0; e < Capacity; e++)
        {
            if (_entries[e].Expires == 0) continue;
            Place(_entries[e].Key.Hash(), e + 1);
            Place(ReplyKeyOf(e).Hash(), (e + 1) | ReplyBit);
        }
    }

    /// <summary>Non-zero signature from the hash's high half (0 marks an unused slot's signature).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Signature(ulong hash) => (uint)(hash >> 32) | 1;

    public void Dispose()
    {
        FreeNative();
        GC.SuppressFinalize(this);
    }

    ~ConntrackTable() => FreeNative();

    private void FreeNative()
    {
        if (_buckets == null) return;
        Routing.TableMemory.Free(_buckets);
        // A shared file is unmapped, not freed: its connections stay for the next process.
        if (_file is not null) _file.Dispose();
        else { Routing.TableMemory.Free(_entries); Routing.TableMemory.Free(_nat); }
        NativeMemory.Free(_free); NativeMemory.Free(_age); NativeMemory.Free(_owned);
        _buckets = null; _entries = null; _free = null; _nat = null; _age = null; _owned = null;
    }
}
