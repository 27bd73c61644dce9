using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Dataplane.Core.Policy;

/// <summary>One port range under a (peer identity, protocol) key: allow or deny, and the rule that made it.</summary>
[StructLayout(LayoutKind.Explicit, Size = 12)]
public struct PolicyEntry
{
    [FieldOffset(0)] public ushort Low;
    [FieldOffset(2)] public ushort High;
    /// <summary>Index into <see cref="PolicyState.Rules"/> (never 0 for a compiled entry).</summary>
    [FieldOffset(4)] public uint Rule;
    [FieldOffset(8)] public byte Deny;
}

/// <summary>Result of a policy lookup; negative values are drops, as in bpf/lib/policy.h.</summary>
public enum PolicyVerdict : sbyte
{
    /// <summary>No policy enforced in this direction.</summary>
    NotEnforced = 1,
    Allowed = 0,
    /// <summary>Enforced and no allow entry matched: DROP_POLICY (133).</summary>
    NoAllow = -1,
    /// <summary>An explicit deny entry matched: DROP_POLICY_DENY (181).</summary>
    Denied = -2,
}

/// <summary>
/// The policy of one endpoint in one direction, as Cilium's per-endpoint BPF policy map: keys are
/// (peer identity, IP protocol), each owning a short run of port ranges. Identity 0 and protocol 0 are
/// wildcards. A lookup probes at most four keys — (id, proto), (id, any), (any, proto), (any, any) — and
/// any matching deny wins over every allow, whatever its specificity. Open addressing, power-of-two size,
/// load ≤ 1/2, arrays only: no allocation and no virtual call per lookup.
/// </summary>
public sealed class PolicyMap
{
    public static PolicyMap Unenforced { get; } = new(false, []);

    private readonly ulong[] _keys;      // (identity << 8 | proto) + 1; 0 = empty slot
    private readonly int[] _start;
    private readonly int[] _count;
    private readonly PolicyEntry[] _entries;
    private readonly int _mask;

    /// <summary>Default-deny is on: a peer without a matching allow is dropped.</summary>
    public bool Enforced { get; }
    public int KeyCount { get; }
    public int EntryCount => _entries.Length;

    public PolicyMap(bool enforced, IEnumerable<(uint Identity, byte Proto, PolicyEntry Entry)> entries)
    {
        Enforced = enforced;
        var groups = entries.GroupBy(e => ((ulong)e.Identity << 8) | e.Proto)
            .OrderBy(g => g.Key).ToList();
        KeyCount = groups.Count;
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(8, groups.Count * 2));
        _keys = new ulong[size]; _start = new int[size]; _count = new int[size]; _mask = size - 1;
        var list = new List<PolicyEntry>();
        foreach (var g in groups)
        {
            ulong key = g.Key + 1;
            int i = Hash(key) & _mask;
            while (_keys[i] != 0) i = (i + 1) & _mask;
            _keys[i] = key;
            _start[i] = list.Count;
            // Deny entries first, so the first match inside a key already answers "denied?".
            foreach (var e in g.OrderByDescending(e => e.Entry.Deny).ThenBy(e => e.Entry.Low).ThenBy(e => e.Entry.Rule))
                list.Add(e.Entry);
            _count[i] = list.Count - _start[i];
        }
        _entries = [.. list];
    }

    /// <summary>
    /// Every (peer identity, protocol) key with its port ranges in lookup order (denies first), for backends
    /// that keep their own copy of the map (the eBPF map filler). Control plane only: allocates.
    /// </summary>
    public IEnumerable<(uint Identity, byte Proto, PolicyEntry[] Entries)> Keys()
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            if (_keys[i] == 0) continue;
            ulong key = _keys[i] - 1;
            yield return ((uint)(key >> 8), (byte)key, _entries.AsSpan(_start[i], _count[i]).ToArray());
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> 40);

    /// <summary>
    /// The verdict for a new flow to/from <paramref name="peer"/>. <paramref name="port"/> is the destination
    /// port (the ICMP type for ICMP). <paramref name="rule"/> is the deciding rule (0 when none).
    /// </summary>
    public PolicyVerdict Lookup(uint peer, byte proto, ushort port, out uint rule)
    {
        rule = 0;
        if (!Enforced && _entries.Length == 0) return PolicyVerdict.NotEnforced;
        uint allow = 0;
        // Most specific first, so the reported allow rule is the most specific one.
        if (Probe(((ulong)peer << 8 | proto) + 1, port, ref allow, ref rule)
            || Probe(((ulong)peer << 8) + 1, port, ref allow, ref rule)
            || Probe((ulong)proto + 1, port, ref allow, ref rule)
            || Probe(1, port, ref allow, ref rule))
            return PolicyVerdict.Denied;
        rule = allow;
        if (allow != 0) return PolicyVerdict.Allowed;
        return Enforced ? PolicyVerdict.NoAllow : PolicyVerdict.NotEnforced;
    }

    /// <summary>True when a deny matched (its rule in <paramref name="deny"/>); records the first allow seen.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Probe(ulong key, ushort port, ref uint allow, ref uint deny)
    {
        ulong[] keys = _keys;
        int i = Hash(key) & _mask;
        while (true)
        {
            ulong k = keys[i];
            if (k == 0) return false;
            if (k == key) break;
            i = (i + 1) & _mask;
        }
        ref PolicyEntry e = ref _entries[_start[i]];
        int n = _count[i];
        for (int j = 0; j < n; j++)
        {
            ref PolicyEntry x = ref Unsafe.Add(ref e, j);
            if (port < x.Low || port > x.High) continue;
            if (x.Deny != 0) { deny = x.Rule; return true; }
            if (allow == 0) allow = x.Rule;
        }
        return false;
    }
}
