using System.Collections.Immutable;
using Dataplane.Core.Counters;
using Dataplane.Core.Drops;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Neighbors;

/// <summary>Hands a frame to a port for transmission; false when it could not be queued.</summary>
public delegate bool NeighborTransmit(ushort port, ReadOnlySpan<byte> frame);

/// <summary>One entry as the status API shows it.</summary>
public sealed record NeighborListing(NeighborKey Key, string Port, NudState State, ulong Mac, long AgeMillis, int Queued, int Probes);

/// <summary>
/// The slow path of neighbour resolution, on the control side (one thread at a time; every entry point takes one
/// lock, never a worker's): the kernel's NUD state machine per (port, address), the bounded queue of packets
/// waiting for each unresolved neighbour, solicitations and probes, ageing, and the announcements when an address
/// comes up. Workers talk to it only through <see cref="FrameRing"/>s (<see cref="Drain"/>) and read its results
/// from the lock-free <see cref="NeighborTable"/>. Time comes from an injected clock, so tests never wait.
/// </summary>
public sealed class NeighborResolver
{
    private sealed class Entry(NeighborKey key, int slot)
    {
        public readonly NeighborKey Key = key;
        public readonly int Slot = slot;
        public NudState State;
        public ulong Mac;
        public int Probes;
        /// <summary>When the state's timer fires (solicit again, probe, fail, go stale).</summary>
        public long Timer;
        /// <summary>Last confirmation or state change.</summary>
        public long Updated;
        public long LastUsed;
        /// <summary>Failed since it last answered (a re-solicitation does not make it unknown again).</summary>
        public bool Failed;
        public readonly Queue<byte[]> Pending = new();
    }

    private readonly object _gate = new();
    private readonly Func<long> _clock;
    private readonly Dictionary<NeighborKey, Entry> _entries = [];
    private readonly Stack<int> _free = new();
    private readonly Queue<(int Slot, long At)> _cooling = new();
    private readonly HashSet<(string Port, ulong Mac, UInt128 Address, bool Ipv6)> _announced = [];
    private ImmutableArray<PortInfo> _ports = [];
    /// <summary>Reused by <see cref="Tick"/> (entries may be removed while it walks them).</summary>
    private readonly List<Entry> _walk = [];
    /// <summary>Neighbours kept confirmed without traffic (<see cref="Watch"/>).</summary>
    private HashSet<NeighborKey> _watched = [];
    private bool _indexDirty;

    public NeighborResolver(NeighborOptions? options = null, Func<long>? clockMillis = null)
    {
        Options = options ?? new NeighborOptions();
        _clock = clockMillis ?? (() => Environment.TickCount64);
        Table = new NeighborTable(Options.Capacity);
        for (int s = Options.Capacity - 1; s >= 0; s--) _free.Push(s);
    }

    public NeighborOptions Options { get; }

    /// <summary>What the workers read.</summary>
    public NeighborTable Table { get; }

    /// <summary>Where solicitations, announcements and released packets go (set by the host before traffic).</summary>
    public NeighborTransmit? Transmit { get; set; }

    /// <summary>Drops of queued packets (reason FIB_LOOKUP_FAILED, 169) and packets sent once resolved; the agent adds
    /// them to the workers' counters.</summary>
    public WorkerCounters Counters { get; } = new();

    public ulong Solicitations, Probes, Announcements, Confirmations, Learned, QueuedPackets, ReleasedPackets,
        UnresolvedDiscards, ResolutionFailures, TableFull, TransmitFailed;

    /// <summary>
    /// Takes a (new) snapshot: the ports' MACs and addresses, the static neighbours (Permanent entries), and sends a
    /// gratuitous ARP / unsolicited NA for every interface address not announced before (agent start, config apply).
    /// Entries of a port whose name or MAC changed are flushed.
    /// </summary>
    public void Configure(DatapathSnapshot snapshot)
    {
        lock (_gate)
        {
            var old = _ports;
            _ports = snapshot.Ports;
            foreach (var e in _entries.Values.ToList())
            {
                ushort p = e.Key.Port;
                bool same = p < old.Length && p < _ports.Length && old[p].Name == _ports[p].Name && old[p].Mac == _ports[p].Mac;
                if (!same || e.State == NudState.Permanent) Remove(e, dropQueued: true);
            }
            foreach (var s in snapshot.StaticNeighbors)
            {
                var e = Create(new NeighborKey(s.Port, s.Ipv6, s.Address));
                if (e is null) continue;
                Set(e, NudState.Permanent, s.Mac);
            }
            foreach (var port in _ports)
            {
                if (port.Kind != PortKind.Interface || port.Mac == 0) continue;
                foreach (var a in port.Addresses)
                {
                    if (!_announced.Add((port.Name, port.Mac, a.Address, a.Ipv6))) continue;
                    Announcements++;
                    Send(port.Id, a.Ipv6 ? NeighborFrames.UnsolicitedAdvertisement(port.Mac, a.Address)
                        : NeighborFrames.GratuitousArp(port.Mac, (uint)a.Address));
                }
            }
            PublishIfDirty();
        }
    }

    /// <summary>Takes every record a worker posted (misses, confirmations, learned addresses).</summary>
    public void Drain(FrameRing fromWorker)
    {
        lock (_gate)
        {
            while (fromWorker.TryPeek(out var h, out var frame))
            {
                switch (h.Kind)
                {
                    case FrameKind.Miss: Miss(h.Key, frame); break;
                    case FrameKind.Confirmed: Confirm(h.Key, h.Mac); break;
                    case FrameKind.Seen: See(h.Key, h.Mac, create: true); break;
                }
                fromWorker.Advance();
            }
            PublishIfDirty();
        }
    }

    /// <summary>Timers: retransmit solicitations, reconfirm used stale entries, fail, age, collect.</summary>
    public void Tick()
    {
        lock (_gate)
        {
            long now = _clock();
            _walk.Clear();
            _walk.AddRange(_entries.Values);
            foreach (var e in _walk)
            {
                if (Table.TakeUsed(e.Slot)) e.LastUsed = now;
                if (_watched.Contains(e.Key) && TickWatched(e, now)) continue;
                switch (e.State)
                {
                    case NudState.Reachable when now >= e.Timer:
                        Set(e, NudState.Stale, e.Mac);
                        break;
                    case NudState.Stale when e.LastUsed > e.Updated:
                        Set(e, NudState.Delay, e.Mac);
                        e.Timer = now + Options.DelayMillis;
                        break;
                    case NudState.Stale or NudState.Failed when now - Math.Max(e.Updated, e.LastUsed) >= Options.GcStaleMillis:
                        Remove(e, dropQueued: true);
                        break;
                    case NudState.Delay when now >= e.Timer:
                        Set(e, NudState.Probe, e.Mac);
                        e.Probes = 0;
                        Solicit(e, unicast: true);
                        break;
                    case NudState.Probe when now >= e.Timer:
                        if (e.Probes >= Options.UnicastSolicit) Fail(e);
                        else Solicit(e, unicast: true);
                        break;
                    case NudState.Incomplete when now >= e.Timer:
                        if (e.Probes >= Options.MulticastSolicit) Fail(e);
                        else Solicit(e, unicast: false);
                        break;
                }
            }
            foreach (var k in _watched)
                if (!_entries.ContainsKey(k) && Create(k) is { } gone) StartResolving(gone);   // flushed by a port change
            while (_cooling.TryPeek(out var c) && now - c.At >= NeighborTable.SlotGraceMillis)
            {
                _cooling.Dequeue();
                _free.Push(c.Slot);
            }
            PublishIfDirty();
        }
    }

    /// <summary>
    /// Neighbours whose reachability the host must know without traffic to them (a gateway's mesh nodes, whose pod
    /// CIDRs it announces): each is resolved now if unknown, reconfirmed by a unicast probe every
    /// <see cref="NeighborOptions.WatchMillis"/>, and solicited again every retransmit interval once it failed, so
    /// that <see cref="IsAlive"/> follows it both ways. Replaces the previous set; unwatched entries age as usual.
    /// </summary>
    public void Watch(IEnumerable<NeighborKey> keys)
    {
        lock (_gate)
        {
            _watched = [.. keys];
            foreach (var k in _watched)
                if (!_entries.ContainsKey(k) && Create(k) is { } e) StartResolving(e);
            PublishIfDirty();
        }
    }

    /// <summary>Whether the neighbour answers: true when resolved (an entry being probed still counts until its probes
    /// run out), false when it failed and has not answered since, null when not known yet (no entry, or being resolved
    /// for the first time) — so a host does not take "not asked yet" for "down".</summary>
    public bool? IsAlive(NeighborKey key)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var e)) return null;
            if (Usable(e.State)) return true;
            return e.Failed ? false : null;
        }
    }

    /// <summary>Every entry, for the status API.</summary>
    public List<NeighborListing> List()
    {
        lock (_gate)
        {
            long now = _clock();
            return [.. _entries.Values
                .OrderBy(e => e.Key.Port).ThenBy(e => e.Key.Ipv6).ThenBy(e => e.Key.Address)
                .Select(e => new NeighborListing(e.Key, e.Key.Port < _ports.Length ? _ports[e.Key.Port].Name : "?", e.State, e.Mac,
                    now - e.Updated, e.Pending.Count, e.Probes))];
        }
    }

    /// <summary>Whether any entry is being resolved or probed (the driver then ticks more often).</summary>
    public bool Busy
    {
        get
        {
            lock (_gate)
            {
                foreach (var e in _entries.Values)
                    if (e.State is NudState.Incomplete or NudState.Probe or NudState.Delay) return true;
                return false;
            }
        }
    }

    /// <summary>
    /// A watched entry's timers, where they differ from the kernel's: a confirmed entry is probed (unicast, no Delay
    /// state) once <see cref="NeighborOptions.WatchMillis"/> passed without a confirmation; a failed one is solicited
    /// again after a retransmit interval. True when handled here; Incomplete and Probe entries take the usual path.
    /// </summary>
    private bool TickWatched(Entry e, long now)
    {
        e.LastUsed = now;   // never aged out
        switch (e.State)
        {
            case NudState.Reachable or NudState.Stale or NudState.Delay when now - e.Updated >= Options.WatchMillis:
                Set(e, NudState.Probe, e.Mac);
                e.Probes = 0;
                Solicit(e, unicast: true);
                return true;
            case NudState.Reachable or NudState.Stale or NudState.Delay:
                return true;
            case NudState.Failed when now - e.Updated >= Options.RetransMillis:
                StartResolving(e);
                return true;
            case NudState.Failed:
                return true;
            default:
                return false;
        }
    }

    /// <summary>Incomplete, first broadcast/multicast solicitation sent.</summary>
    private void StartResolving(Entry e)
    {
        Set(e, NudState.Incomplete, 0);
        e.Probes = 0;
        Solicit(e, unicast: false);
    }

    private void Miss(NeighborKey key, Span<byte> frame)
    {
        var e = _entries.GetValueOrDefault(key) ?? Create(key);
        if (e is null) { Discard(frame.Length); return; }
        if (Usable(e.State))
        {
            // Resolved while the packet was on its way here.
            NeighborFrames.WriteMac(frame, 0, e.Mac);
            Release(e.Key.Port, frame);
            return;
        }
        if (e.State is NudState.None or NudState.Failed) StartResolving(e);
        if (e.Pending.Count >= Options.QueueLength) { Discard(frame.Length); return; }
        e.Pending.Enqueue(frame.ToArray());
        QueuedPackets++;
    }

    /// <summary>A reply (ARP reply, solicited NA): the neighbour is reachable at <paramref name="mac"/> (0 = the NA
    /// carried no link-layer option: the MAC we probed).</summary>
    private void Confirm(NeighborKey key, ulong mac)
    {
        // As the kernel without arp_accept: a reply nobody asked for creates nothing.
        if (!_entries.TryGetValue(key, out var e) || e.State == NudState.Permanent) return;
        if (mac == 0) mac = e.Mac;
        if (mac == 0) return;
        Confirmations++;
        Set(e, NudState.Reachable, mac);
        e.Probes = 0;
        e.Timer = _clock() + Options.ReachableMillis;
        Flush(e);
    }

    /// <summary>The neighbour's own solicitation for one of our addresses: a Stale entry (created if absent), as the
    /// kernel's neigh_event_ns.</summary>
    private void See(NeighborKey key, ulong mac, bool create)
    {
        if (mac == 0) return;
        if (!_entries.TryGetValue(key, out var e))
        {
            if (!create || (e = Create(key)) is null) return;
        }
        if (e.State == NudState.Permanent) return;
        if (Usable(e.State) && e.Mac == mac) return;
        Learned++;
        Set(e, NudState.Stale, mac);
        Flush(e);
    }

    private void Fail(Entry e)
    {
        ResolutionFailures++;
        Set(e, NudState.Failed, e.Mac);
        e.Failed = true;
        while (e.Pending.TryDequeue(out var f)) Discard(f.Length);
    }

    private void Solicit(Entry e, bool unicast)
    {
        e.Probes++;
        e.Timer = _clock() + Options.RetransMillis;
        var k = e.Key;
        if (k.Port >= _ports.Length) return;
        var port = _ports[k.Port];
        if (port.Mac == 0) return;
        ulong dst = unicast ? e.Mac : 0;
        byte[] frame;
        if (k.Ipv6)
        {
            UInt128 src = SourceFor(port, k) ?? NeighborFrames.LinkLocal(port.Mac);
            frame = NeighborFrames.NeighborSolicitation(port.Mac, src, k.Address, dst);
        }
        else
        {
            uint src = (uint)(SourceFor(port, k) ?? 0);
            frame = NeighborFrames.ArpRequest(port.Mac, src, (uint)k.Address, unicast ? dst : NeighborFrames.Broadcast);
        }
        if (unicast) Probes++; else Solicitations++;
        Send(k.Port, frame);
    }

    /// <summary>Our address on the port in the neighbour's subnet, else the first of its family.</summary>
    private static UInt128? SourceFor(PortInfo port, NeighborKey k)
    {
        UInt128? first = null;
        foreach (var a in port.Addresses)
        {
            if (a.Ipv6 != k.Ipv6) continue;
            if (a.Contains(k.Address, k.Ipv6)) return a.Address;
            first ??= a.Address;
        }
        return first;
    }

    private void Flush(Entry e)
    {
        while (e.Pending.TryDequeue(out var f))
        {
            NeighborFrames.WriteMac(f, 0, e.Mac);
            Release(e.Key.Port, f);
        }
    }

    private void Release(ushort port, ReadOnlySpan<byte> frame)
    {
        if (!Send(port, frame)) { Discard(frame.Length); return; }
        ReleasedPackets++;
        Counters.TxPackets++;
        Counters.TxBytes += (ulong)frame.Length;
    }

    private bool Send(ushort port, ReadOnlySpan<byte> frame)
    {
        if (Transmit is { } t && t(port, frame)) return true;
        TransmitFailed++;
        return false;
    }

    /// <summary>A packet for a neighbour that cannot take it: counted as Cilium counts a missing neighbour.</summary>
    private void Discard(int bytes)
    {
        UnresolvedDiscards++;
        const int r = (int)DropReason.FibLookupFailed;
        Counters.Drops[r]++;
        Counters.DropBytes[r] += (ulong)bytes;
        Counters.DirectionalDrops[r]++;
        Counters.DirectionalDropBytes[r] += (ulong)bytes;
    }

    private Entry? Create(NeighborKey key)
    {
        if (_entries.TryGetValue(key, out var existing)) return existing;
        if (!_free.TryPop(out int slot)) { TableFull++; return null; }
        var e = new Entry(key, slot) { Updated = _clock() };
        e.LastUsed = e.Updated;
        _entries[key] = e;
        Table.TakeUsed(slot);
        Table.Write(slot, NudState.None, 0);
        _indexDirty = true;
        return e;
    }

    private void Remove(Entry e, bool dropQueued)
    {
        if (dropQueued) while (e.Pending.TryDequeue(out var f)) Discard(f.Length);
        _entries.Remove(e.Key);
        Table.Write(e.Slot, NudState.None, 0);
        _cooling.Enqueue((e.Slot, _clock()));
        _indexDirty = true;
    }

    private void Set(Entry e, NudState state, ulong mac)
    {
        e.State = state;
        e.Mac = mac;
        if (Usable(state)) e.Failed = false;
        e.Updated = _clock();
        Table.Write(e.Slot, state, mac);
    }

    private void PublishIfDirty()
    {
        if (!_indexDirty) return;
        _indexDirty = false;
        Table.Publish([.. _entries.Values.Select(e => (e.Key, e.Slot))]);
    }

    private static bool Usable(NudState s) => s is NudState.Reachable or NudState.Stale or NudState.Delay or NudState.Probe or NudState.Permanent;
}
