using System.Net;
using System.Net.Sockets;

namespace Dataplane.WireGuard.Transport;

/// <summary>
/// A peer's UDP endpoint as a value (IPv4 kept as an IPv4-mapped IPv6 address), so roaming updates on the
/// packet path allocate nothing; converted to an <see cref="IPEndPoint"/> only for display and socket set-up.
/// </summary>
public readonly record struct WgEndpoint(UInt128 Address, ushort Port)
{
    private static readonly UInt128 V4Mapped = (UInt128)0xffff << 32;

    public bool IsSet => Port != 0;
    public bool IsIpv4 => Address >> 32 == 0xffff;

    public static WgEndpoint FromIpv4(uint addressHostOrder, ushort port) => new(V4Mapped | addressHostOrder, port);

    public static WgEndpoint From(IPEndPoint ep)
    {
        var a = ep.Address.AddressFamily == AddressFamily.InterNetwork ? ep.Address.MapToIPv6() : ep.Address;
        Span<byte> b = stackalloc byte[16];
        a.TryWriteBytes(b, out _);
        return new(System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(b), (ushort)ep.Port);
    }

    public IPEndPoint ToIPEndPoint()
    {
        Span<byte> b = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(b, Address);
        var ip = new IPAddress(b);
        return new IPEndPoint(IsIpv4 ? ip.MapToIPv4() : ip, Port);
    }

    /// <summary>The bytes a cookie is bound to (§5.4.7: the source address and port of the initiation).</summary>
    public int WriteCookieInput(Span<byte> output)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(output, Address);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(output[16..], Port);
        return 18;
    }

    public override string ToString() => IsSet ? ToIPEndPoint().ToString() : "(none)";
}
