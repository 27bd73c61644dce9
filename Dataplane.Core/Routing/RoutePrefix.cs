using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Dataplane.Core.Routing;

/// <summary>Control-plane parsing of CIDR strings into the (prefix, depth) form the LPM tables take.</summary>
public static class RoutePrefix
{
    /// <summary>"198.18.0.0/15" → (0xC6120000, 15). A bare address is a /32.</summary>
    public static (uint Prefix, int Depth) ParseV4(string cidr)
    {
        var net = ParseNetwork(cidr, AddressFamily.InterNetwork);
        return (ToUInt32(net.BaseAddress), net.PrefixLength);
    }

    /// <summary>"2001:db8::/32" → (0x20010db8_0…, 32). A bare address is a /128.</summary>
    public static (UInt128 Prefix, int Depth) ParseV6(string cidr)
    {
        var net = ParseNetwork(cidr, AddressFamily.InterNetworkV6);
        return (ToUInt128(net.BaseAddress), net.PrefixLength);
    }

    public static uint ToUInt32(IPAddress v4)
    {
        Span<byte> b = stackalloc byte[4];
        if (v4.AddressFamily != AddressFamily.InterNetwork || !v4.TryWriteBytes(b, out _))
            throw new ArgumentException("not an IPv4 address", nameof(v4));
        return BinaryPrimitives.ReadUInt32BigEndian(b);
    }

    public static UInt128 ToUInt128(IPAddress v6)
    {
        Span<byte> b = stackalloc byte[16];
        if (v6.AddressFamily != AddressFamily.InterNetworkV6 || !v6.TryWriteBytes(b, out _))
            throw new ArgumentException("not an IPv6 address", nameof(v6));
        return BinaryPrimitives.ReadUInt128BigEndian(b);
    }

    public static IPAddress ToAddress(uint v4)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v4);
        return new IPAddress(b);
    }

    public static IPAddress ToAddress(UInt128 v6)
    {
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, v6);
        return new IPAddress(b);
    }

    private static IPNetwork ParseNetwork(string cidr, AddressFamily family)
    {
        ArgumentNullException.ThrowIfNull(cidr);
        IPNetwork net;
        if (cidr.Contains('/'))
        {
            // IPNetwork.Parse rejects host bits set beyond the length; routes such as 10.1.2.3/8 are common
            // in configs, so mask them off instead.
            int slash = cidr.IndexOf('/');
            var address = IPAddress.Parse(cidr.AsSpan(0, slash));
            int length = int.Parse(cidr.AsSpan(slash + 1));
            int max = family == AddressFamily.InterNetwork ? 32 : 128;
            if (address.AddressFamily != family || length < 0 || length > max)
                throw new FormatException($"'{cidr}' is not an {(max == 32 ? "IPv4" : "IPv6")} prefix");
            net = family == AddressFamily.InterNetwork
                ? new IPNetwork(ToAddress(Lpm4.Mask(ToUInt32(address), length)), length)
                : new IPNetwork(ToAddress(Lpm6.Mask(ToUInt128(address), length)), length);
        }
        else
        {
            var address = IPAddress.Parse(cidr);
            if (address.AddressFamily != family) throw new FormatException($"'{cidr}' is not of the expected family");
            net = new IPNetwork(address, family == AddressFamily.InterNetwork ? 32 : 128);
        }
        return net;
    }
}
