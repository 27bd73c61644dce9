using System.Net;
using System.Net.Sockets;

namespace Dataplane.Bgp.Wire;

/// <summary>
/// An IPv4 or IPv6 prefix as BGP carries it. Host bits beyond <see cref="Length"/> are always zero (the
/// constructor masks them), so two equal prefixes compare and hash equal.
/// </summary>
public readonly record struct BgpPrefix
{
    public IPAddress Address { get; }
    public byte Length { get; }

    public BgpPrefix(IPAddress address, int length)
    {
        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if ((uint)length > (uint)max) throw new ArgumentOutOfRangeException(nameof(length));
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int n);
        Mask(bytes[..n], length);
        Address = new IPAddress(bytes[..n]);
        Length = (byte)length;
    }

    /// <summary>For decoders that have already masked the address: skips the copy and re-mask.</summary>
    internal BgpPrefix(IPAddress maskedAddress, byte length, bool alreadyMasked)
    {
        _ = alreadyMasked;
        Address = maskedAddress;
        Length = length;
    }

    public bool IsIpv4 => Address.AddressFamily == AddressFamily.InterNetwork;
    public Family Family => IsIpv4 ? Family.Ipv4Unicast : Family.Ipv6Unicast;

    public static BgpPrefix Parse(string text)
    {
        int slash = text.IndexOf('/');
        var ip = IPAddress.Parse(slash < 0 ? text : text[..slash]);
        int len = slash < 0 ? (ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) : int.Parse(text[(slash + 1)..]);
        return new BgpPrefix(ip, len);
    }

    internal static void Mask(Span<byte> bytes, int length)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(length - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF00 >> keep);
        }
    }

    public override string ToString() => $"{Address}/{Length}";
}
