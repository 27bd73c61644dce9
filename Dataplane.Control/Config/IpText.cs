using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Dataplane.Control.Config;

/// <summary>
/// Strict textual IP and prefix parsing. <see cref="IPAddress.TryParse(string, out IPAddress)"/> accepts
/// legacy forms ("10.1" = 10.0.0.1, "010.0.0.1" as octal, scope ids) that would silently turn a typo into
/// a different address, so configuration only accepts dotted-quad IPv4 and plain IPv6.
/// </summary>
internal static class IpText
{
    public static bool TryParseAddress(string s, [NotNullWhen(true)] out IPAddress? ip)
    {
        ip = null;
        if (s.Contains(':'))
        {
            // IPv6: the BCL parser is fine once scope ids and brackets are excluded.
            if (s.Contains('%') || s.Contains('[') || !IPAddress.TryParse(s, out var v6)
                || v6.AddressFamily != AddressFamily.InterNetworkV6)
                return false;
            ip = v6;
            return true;
        }

        var parts = s.Split('.');
        if (parts.Length != 4)
            return false;
        Span<byte> bytes = stackalloc byte[4];
        for (int i = 0; i < 4; i++)
        {
            var p = parts[i];
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit))
                return false;
            int v = int.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
            if (v > 255)
                return false;
            bytes[i] = (byte)v;
        }
        ip = new IPAddress(bytes);
        return true;
    }

    /// <summary>Parses "address/prefix" without judging host bits; callers decide whether they matter.</summary>
    public static bool TryParsePrefix(string s, [NotNullWhen(true)] out IPAddress? ip, out int prefixLength)
    {
        ip = null;
        prefixLength = 0;
        int slash = s.IndexOf('/');
        if (slash < 0 || !TryParseAddress(s[..slash], out var addr))
            return false;
        var len = s[(slash + 1)..];
        if (len.Length is 0 or > 3 || (len.Length > 1 && len[0] == '0') || !len.All(char.IsAsciiDigit))
            return false;
        int n = int.Parse(len, System.Globalization.CultureInfo.InvariantCulture);
        if (n > MaxPrefix(addr))
            return false;
        ip = addr;
        prefixLength = n;
        return true;
    }

    public static int MaxPrefix(IPAddress ip) => ip.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    /// <summary>The address with every bit after <paramref name="prefixLength"/> cleared.</summary>
    public static IPAddress Mask(IPAddress ip, int prefixLength)
    {
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out int n);
        bytes = bytes[..n];
        for (int bit = prefixLength; bit < n * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }

    public static IPNetwork Network(IPAddress ip, int prefixLength) => new(Mask(ip, prefixLength), prefixLength);

    /// <summary>Two prefixes overlap exactly when the shorter one contains the other's base address.</summary>
    public static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily
        && (a.PrefixLength <= b.PrefixLength ? a.Contains(b.BaseAddress) : b.Contains(a.BaseAddress));
}
