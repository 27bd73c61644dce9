using System.Runtime.CompilerServices;

namespace Dataplane.Core.Neighbors;

/// <summary>
/// The neighbour table the workers read without locks. Each entry has a fixed slot whose state and MAC share one
/// 64-bit word (MAC in the low 48 bits, <see cref="NudState"/> above), so a worker reads both with one atomic load
/// and the resolver changes both with one store. Which (port, address) owns which slot is an immutable open-
/// addressing index the resolver republishes, with a single reference store, when entries come or go (rare); a
/// worker loads it once per lookup. A slot leaves the index before it is reused, and is reused only after
/// <see cref="SlotGraceMillis"/>, long after any worker finished the batch that still saw the old index.
/// Workers report that they used an entry by setting its used flag (a plain store, only when unset):
/// that is what moves a stale entry into reconfirmation, as the kernel's neigh_event_send does.
/// </summary>
public sealed class NeighborTable
{
    public const int SlotGraceMillis = 2000;

    private readonly ulong[] _words;
    private readonly byte[] _used;
    private Index _index;

    public NeighborTable(int capacity = 4096)
    {
        if (capacity is < 8 or > 1 << 20) throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity;
        _words = new ulong[capacity];
        _used = new byte[capacity];
        _index = Index.Build([], capacity);
    }

    /// <summary>Entries the table can hold.</summary>
    public int Capacity { get; }

    /// <summary>
    /// Worker: the MAC to send to <paramref name="address"/> on <paramref name="port"/>, when an entry with a usable
    /// MAC exists (Reachable, Stale, Delay, Probe, Permanent); marks the entry used. No allocation, no lock.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetMac(ushort port, bool ipv6, UInt128 address, out ulong mac)
    {
        int slot = Volatile.Read(ref _index).Find(port, ipv6, address);
        if (slot < 0) { mac = 0; return false; }
        ulong word = Volatile.Read(ref _words[slot]);
        var state = (NudState)(byte)(word >> 48);
        mac = word & 0xFFFF_FFFF_FFFFUL;
        if (state is NudState.None or NudState.Incomplete or NudState.Failed) return false;
        if (_used[slot] == 0) _used[slot] = 1;
        return true;
    }

    // ---- resolver side (one thread) ----

    /// <summary>Writes an entry's state and MAC in one store.</summary>
    internal void Write(int slot, NudState state, ulong mac) =>
        Volatile.Write(ref _words[slot], (mac & 0xFFFF_FFFF_FFFFUL) | ((ulong)state << 48));

    /// <summary>Whether a worker used the entry since the last call, and clears the flag.</summary>
    internal bool TakeUsed(int slot)
    {
        if (_used[slot] == 0) return false;
        _used[slot] = 0;
        return true;
    }

    /// <summary>Publishes which key owns which slot.</summary>
    internal void Publish(IReadOnlyList<(NeighborKey Key, int Slot)> entries) =>
        Volatile.Write(ref _index, Index.Build(entries, Capacity));

    /// <summary>Open addressing over a power-of-two array twice the table's capacity; linear probing.</summary>
    private sealed class Index
    {
        private readonly UInt128[] _addr;
        private readonly uint[] _portFamily;
        private readonly int[] _slot;
        private readonly int _mask;

        private Index(int size)
        {
            _addr = new UInt128[size];
            _portFamily = new uint[size];
            _slot = new int[size];
            Array.Fill(_slot, -1);
            _mask = size - 1;
        }

        public static Index Build(IReadOnlyList<(NeighborKey Key, int Slot)> entries, int capacity)
        {
            var ix = new Index((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2));
            foreach (var (k, slot) in entries)
            {
                uint pf = PortFamily(k.Port, k.Ipv6);
                int i = Hash(pf, k.Address) & ix._mask;
                while (ix._slot[i] >= 0) i = (i + 1) & ix._mask;
                ix._addr[i] = k.Address; ix._portFamily[i] = pf; ix._slot[i] = slot;
            }
            return ix;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Find(ushort port, bool ipv6, UInt128 address)
        {
            uint pf = PortFamily(port, ipv6);
            int i = Hash(pf, address) & _mask;
            while (true)
            {
                int s = _slot[i];
                if (s < 0) return -1;
                if (_portFamily[i] == pf && _addr[i] == address) return s;
                i = (i + 1) & _mask;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint PortFamily(ushort port, bool ipv6) => (uint)port << 1 | (ipv6 ? 1u : 0u);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int Hash(uint pf, UInt128 a)
        {
            ulong h = (ulong)a ^ ((ulong)(a >> 64) * 0x9E3779B97F4A7C15UL) ^ ((ulong)pf << 40);
            h *= 0xBF58476D1CE4E5B9UL;
            return (int)(h >> 40);
        }
    }
}
