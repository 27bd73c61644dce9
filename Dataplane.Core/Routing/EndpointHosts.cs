using System.Runtime.CompilerServices;

namespace Dataplane.Core.Routing;

/// <summary>
/// The local pods' addresses → their next hops, looked up when the LPM sends a destination to this node's pod
/// CIDR (a <see cref="NextHopKind.NoEndpoint"/> route): Cilium's endpoints map beside its FIB. Pods are not host
/// routes in the LPM, so a pod coming or going leaves the 64 MiB tables of the previous snapshot shareable and a
/// CNI ADD costs no table rebuild. Open addressing with linear probing at load ≤ 1/2, one table per family;
/// built once per snapshot and only read afterwards.
/// </summary>
public sealed class EndpointHosts
{
    public static readonly EndpointHosts Empty = new([], []);

    private const uint Free = uint.MaxValue;
    private readonly uint[] _keys4;
    private readonly uint[] _hops4;
    private readonly UInt128[] _keys6;
    private readonly uint[] _hops6;
    private readonly int _mask4, _mask6;

    /// <param name="v4">Host-order IPv4 address → next-hop index.</param>
    /// <param name="v6">IPv6 address (<see cref="RoutePrefix.ToUInt128(System.Net.IPAddress)"/>) → next-hop index.</param>
    public EndpointHosts(IReadOnlyList<(uint Address, uint NextHop)> v4, IReadOnlyList<(UInt128 Address, uint NextHop)> v6)
    {
        _keys4 = new uint[SizeFor(v4.Count)];
        _hops4 = new uint[_keys4.Length];
        _mask4 = _keys4.Length - 1;
        Array.Fill(_hops4, Free);
        foreach (var (a, nh) in v4)
        {
            int i = Slot4(a);
            while (_hops4[i] != Free && _keys4[i] != a) i = (i + 1) & _mask4;
            _keys4[i] = a;
            _hops4[i] = nh;
        }
        _keys6 = new UInt128[SizeFor(v6.Count)];
        _hops6 = new uint[_keys6.Length];
        _mask6 = _keys6.Length - 1;
        Array.Fill(_hops6, Free);
        foreach (var (a, nh) in v6)
        {
            int i = Slot6(a);
            while (_hops6[i] != Free && _keys6[i] != a) i = (i + 1) & _mask6;
            _keys6[i] = a;
            _hops6[i] = nh;
        }
        Count = v4.Count + v6.Count;
    }

    public int Count { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFind4(uint address, out uint nextHop)
    {
        int i = Slot4(address);
        while (true)
        {
            nextHop = _hops4[i];
            if (nextHop == Free) return false;
            if (_keys4[i] == address) return true;
            i = (i + 1) & _mask4;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFind6(UInt128 address, out uint nextHop)
    {
        int i = Slot6(address);
        while (true)
        {
            nextHop = _hops6[i];
            if (nextHop == Free) return false;
            if (_keys6[i] == address) return true;
            i = (i + 1) & _mask6;
        }
    }

    /// <summary>Power of two with at least one free slot per key (lookups of absent keys end at a free slot).</summary>
    private static int SizeFor(int count) => (int)Math.Max(4u, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)count * 2));

    // Fibonacci hashing: pods' addresses are consecutive, and the multiply spreads them over the table's top bits.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot4(uint a) => (int)((a * 2654435769u) >> 7) & _mask4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot6(UInt128 a) => (int)((((ulong)a ^ (ulong)(a >> 64)) * 11400714819323198485ul) >> 40) & _mask6;
}
