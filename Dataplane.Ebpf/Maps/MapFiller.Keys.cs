using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;
using Dataplane.Core.Routing;

namespace Dataplane.Ebpf.Maps;

// How addresses, prefixes and MACs are laid out in map keys and values (network order).
public static unsafe partial class MapFiller
{
    /// <summary>An address as ct_key holds it: IPv4 in the first 4 bytes, IPv6 all 16, network order.</summary>
    private static void WriteAddr(byte* dst, UInt128 addr, byte family)
    {
        if (family == 4) BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(dst, 4), (uint)addr);
        else BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(dst, 16), addr);
    }

    private static Lpm4Key Key4(IPNetwork prefix)
    {
        var k = new Lpm4Key { PrefixLen = (uint)prefix.PrefixLength };
        uint a = Lpm4.Mask(RoutePrefix.ToUInt32(prefix.BaseAddress), prefix.PrefixLength);
        BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(k.Addr, 4), a);
        return k;
    }

    private static Lpm6Key Key6(IPNetwork prefix)
    {
        var k = new Lpm6Key { PrefixLen = (uint)prefix.PrefixLength };
        UInt128 a = Lpm6.Mask(RoutePrefix.ToUInt128(prefix.BaseAddress), prefix.PrefixLength);
        BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(k.Addr, 16), a);
        return k;
    }

    private static void WriteMac(ref byte dst, ulong mac)
    {
        for (int i = 0; i < 6; i++) Unsafe.Add(ref dst, i) = (byte)(mac >> (40 - 8 * i));
    }
}
