using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Dataplane.Control.Config;

/// <summary>Address arithmetic for LB-IPAM ranges: an address as a number (IPv4 in the low 32 bits).</summary>
internal static class LbIpRange
{
    public static UInt128 ToNumber(IPAddress ip)
    {
        Span<byte> b = stackalloc byte[16];
        ip.TryWriteBytes(b, out int n);
        return n == 4 ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt128BigEndian(b);
    }

    public static IPAddress FromNumber(UInt128 v, AddressFamily family)
    {
        if (family == AddressFamily.InterNetwork)
        {
            var b4 = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b4, (uint)v);
            return new IPAddress(b4);
        }
        var b = new byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, v);
        return new IPAddress(b);
    }

    public static IPAddress Last(IPNetwork net)
    {
        int bits = net.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        UInt128 hostMask = net.PrefixLength == bits ? 0 : (UInt128.One << (bits - net.PrefixLength)) - 1;
        return FromNumber(ToNumber(net.BaseAddress) | hostMask, net.BaseAddress.AddressFamily);
    }

    public static int Compare(IPAddress a, IPAddress b) => ToNumber(a).CompareTo(ToNumber(b));

    public static bool Overlaps(LbIpBlockSpec a, LbIpBlockSpec b) =>
        a.First.AddressFamily == b.First.AddressFamily && Compare(a.First, b.Last) <= 0 && Compare(b.First, a.Last) <= 0;

    public static bool Contains(LbIpBlockSpec block, IPAddress ip) =>
        ip.AddressFamily == block.First.AddressFamily && Compare(block.First, ip) <= 0 && Compare(ip, block.Last) <= 0;

    public static string Format(LbIpBlockSpec b) => b.First.Equals(b.Last) ? b.First.ToString() : $"{b.First}-{b.Last}";
}
