using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Nat;

/// <summary>
/// A short list of prefixes matched by scanning (non-masquerade ranges, egress policy destinations: a handful of
/// entries, looked at only for new flows or policy-matched sources). Addresses as the pipeline holds them.
/// </summary>
public sealed class CidrList
{
    private readonly UInt128[] _net;
    private readonly UInt128[] _mask;
    private readonly byte[] _family;

    public static CidrList Empty { get; } = new([]);

    public CidrList(IEnumerable<IPNetwork> prefixes)
    {
        var list = prefixes.ToList();
        _net = new UInt128[list.Count]; _mask = new UInt128[list.Count]; _family = new byte[list.Count];
        for (int i = 0; i < list.Count; i++)
        {
            var p = list[i];
            bool v4 = p.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
            int bits = v4 ? 32 : 128;
            UInt128 all = v4 ? uint.MaxValue : UInt128.MaxValue;
            _mask[i] = p.PrefixLength == 0 ? UInt128.Zero : (all << (bits - p.PrefixLength)) & all;
            _net[i] = (v4 ? RoutePrefix.ToUInt32(p.BaseAddress) : RoutePrefix.ToUInt128(p.BaseAddress)) & _mask[i];
            _family[i] = v4 ? (byte)4 : (byte)6;
        }
    }

    public int Count => _net.Length;

    /// <summary>The prefixes (network address as the pipeline holds it, length, family 4/6), for other targets
    /// of the same configuration (the eBPF maps).</summary>
    public IEnumerable<(UInt128 Net, int PrefixLength, byte Family)> Entries()
    {
        for (int i = 0; i < _net.Length; i++)
            yield return (_net[i], (int)UInt128.PopCount(_mask[i]), _family[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(UInt128 addr, byte family)
    {
        for (int i = 0; i < _net.Length; i++)
            if (_family[i] == family && (addr & _mask[i]) == _net[i]) return true;
        return false;
    }
}
