using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.CompilerServices;
using Dataplane.Core.Routing;

namespace Dataplane.Core.IpCache;

/// <summary>One ipcache entry as the control plane describes it.</summary>
public readonly record struct IpCacheEntry(IPNetwork Prefix, uint Identity, IPAddress? HostIp);

/// <summary>
/// IP/prefix → security identity (+ the host IP of the node that owns the address), both families.
/// Cilium's ipcache is an LPM trie; the ipcache holds few distinct prefix lengths (pods /32 and /128, node
/// IPs, a handful of policy CIDRs), so this is one open-addressing hash table per family keyed by
/// (masked address, length) plus the distinct lengths longest first: a lookup is one probe sequence per
/// length present (typically 1–4), and the memory is proportional to the entries — about 1.2 MB for
/// ten thousand dual-stack pods (20 000 entries) instead of another 64 MiB DIR-24-8 table. Built once per snapshot; lookups never allocate.
/// </summary>
public sealed class IpCacheMap
{
    private const ulong Empty4 = ulong.MaxValue;

    // IPv4: key = length << 32 | masked address; empty slots hold Empty4.
    private readonly ulong[] _keys4;
    private readonly uint[] _ids4;
    private readonly ushort[] _hosts4;
    private readonly byte[] _lengths4;   // distinct lengths, longest first
    private readonly int _mask4;

    // IPv6: masked address + (length + 1) (0 = empty slot).
    private readonly UInt128[] _keys6;
    private readonly byte[] _len6;
    private readonly uint[] _ids6;
    private readonly ushort[] _hosts6;
    private readonly byte[] _lengths6;
    private readonly int _mask6;

    /// <summary>Host IPs referenced by entries; index 0 = none.</summary>
    public IPAddress?[] HostIps { get; }
    public uint World4 { get; }
    public uint World6 { get; }
    public int Count4 { get; }
    public int Count6 { get; }

    /// <param name="entries">Prefixes and their identities; a later entry for the same prefix replaces an earlier one.</param>
    /// <param name="world4">Identity of an IPv4 address no entry covers (world or world-ipv4).</param>
    /// <param name="world6">Identity of an IPv6 address no entry covers (world or world-ipv6).</param>
    public IpCacheMap(IEnumerable<IpCacheEntry> entries, uint world4, uint world6)
    {
        World4 = world4; World6 = world6;
        var v4 = new Dictionary<(uint, int), (uint, ushort)>();
        var v6 = new Dictionary<(UInt128, int), (uint, ushort)>();
        var hosts = new List<IPAddress?> { null };
        var hostIndex = new Dictionary<IPAddress, ushort>();
        foreach (var e in entries)
        {
            ushort h = 0;
            if (e.HostIp != null && !hostIndex.TryGetValue(e.HostIp, out h))
            {
                h = checked((ushort)hosts.Count);
                hosts.Add(e.HostIp);
                hostIndex[e.HostIp] = h;
            }
            int len = e.Prefix.PrefixLength;
            if (e.Prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
                v4[(Lpm4.Mask(RoutePrefix.ToUInt32(e.Prefix.BaseAddress), len), len)] = (e.Identity, h);
            else
                v6[(Lpm6.Mask(RoutePrefix.ToUInt128(e.Prefix.BaseAddress), len), len)] = (e.Identity, h);
        }
        HostIps = [.. hosts];
        Count4 = v4.Count; Count6 = v6.Count;

        int size4 = Capacity(v4.Count);
        _keys4 = new ulong[size4]; Array.Fill(_keys4, Empty4);
        _ids4 = new uint[size4]; _hosts4 = new ushort[size4]; _mask4 = size4 - 1;
        foreach (var ((addr, len), (id, h)) in v4)
        {
            ulong key = ((ulong)len << 32) | addr;
            int i = Hash4(key) & _mask4;
            while (_keys4[i] != Empty4) i = (i + 1) & _mask4;
            _keys4[i] = key; _ids4[i] = id; _hosts4[i] = h;
        }
        _lengths4 = [.. v4.Keys.Select(k => (byte)k.Item2).Distinct().OrderDescending()];

        int size6 = Capacity(v6.Count);
        _keys6 = new UInt128[size6]; _len6 = new byte[size6];
        _ids6 = new uint[size6]; _hosts6 = new ushort[size6]; _mask6 = size6 - 1;
        foreach (var ((addr, len), (id, h)) in v6)
        {
            int i = Hash6(addr, len) & _mask6;
            while (_len6[i] != 0) i = (i + 1) & _mask6;
            _keys6[i] = addr; _len6[i] = (byte)(len + 1); _ids6[i] = id; _hosts6[i] = h;
        }
        _lengths6 = [.. v6.Keys.Select(k => (byte)k.Item2).Distinct().OrderDescending()];
    }

    /// <summary>Load factor at most 1/2, power of two, at least 16.</summary>
    private static int Capacity(int n) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, n * 2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash4(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash6(UInt128 addr, int len)
    {
        ulong x = (ulong)(addr >> 64) * 0x9E3779B97F4A7C15UL ^ (ulong)addr * 0xC2B2AE3D27D4EB4FUL ^ (ulong)len;
        return (int)((x * 0x9E3779B97F4A7C15UL) >> 32);
    }

    /// <summary>Identity of an IPv4 address (host order): longest matching prefix, else world.</summary>
    public uint Lookup4(uint addr) => TryFind4(addr, out int slot) ? _ids4[slot] : World4;

    public uint Lookup6(UInt128 addr) => TryFind6(addr, out int slot) ? _ids6[slot] : World6;

    /// <summary>The owning node's IP for an address (null when unknown or outside the cluster).</summary>
    public IPAddress? HostIpOf(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
            return TryFind4(RoutePrefix.ToUInt32(address), out int s) ? HostIps[_hosts4[s]] : null;
        return TryFind6(RoutePrefix.ToUInt128(address), out int s6) ? HostIps[_hosts6[s6]] : null;
    }

    public uint Lookup(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork
        ? Lookup4(RoutePrefix.ToUInt32(address)) : Lookup6(RoutePrefix.ToUInt128(address));

    private bool TryFind4(uint addr, out int slot)
    {
        byte[] lengths = _lengths4;
        ulong[] keys = _keys4;
        for (int l = 0; l < lengths.Length; l++)
        {
            int len = lengths[l];
            ulong key = ((ulong)len << 32) | Lpm4.Mask(addr, len);
            int i = Hash4(key) & _mask4;
            while (true)
            {
                ulong k = keys[i];
                if (k == key) { slot = i; return true; }
                if (k == Empty4) break;
                i = (i + 1) & _mask4;
            }
        }
        slot = -1;
        return false;
    }

    private bool TryFind6(UInt128 addr, out int slot)
    {
        byte[] lengths = _lengths6;
        for (int l = 0; l < lengths.Length; l++)
        {
            int len = lengths[l];
            UInt128 masked = Lpm6.Mask(addr, len);
            int i = Hash6(masked, len) & _mask6;
            while (true)
            {
                byte stored = _len6[i];
                if (stored == 0) break;
                if (stored == len + 1 && _keys6[i] == masked) { slot = i; return true; }
                i = (i + 1) & _mask6;
            }
        }
        slot = -1;
        return false;
    }

    /// <summary>
    /// Every entry as (prefix, identity), for backends that keep their own copy of the ipcache (the eBPF map
    /// filler writes them into an LPM trie). Control plane only: allocates.
    /// </summary>
    public IEnumerable<(IPNetwork Prefix, uint Identity)> Entries()
    {
        for (int i = 0; i < _keys4.Length; i++)
            if (_keys4[i] != Empty4)
                yield return (new IPNetwork(RoutePrefix.ToAddress((uint)_keys4[i]), (int)(_keys4[i] >> 32)), _ids4[i]);
        for (int i = 0; i < _keys6.Length; i++)
            if (_len6[i] != 0)
                yield return (new IPNetwork(RoutePrefix.ToAddress(_keys6[i]), _len6[i] - 1), _ids6[i]);
    }

    /// <summary>Approximate bytes held by the tables.</summary>
    public long MemoryBytes => _keys4.Length * 14L + _keys6.Length * 23L;
}
