using System.Globalization;

namespace Dataplane.Linux.Netlink;

/// <summary>MAC addresses in iproute2's text form ("02:00:00:00:01:01").</summary>
public static class Mac
{
    public static string Format(ReadOnlySpan<byte> mac) => string.Join(':', mac.ToArray().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    public static byte[] Parse(string text)
    {
        var parts = text.Split(':');
        var mac = new byte[parts.Length];
        if (parts.Length != 6) throw new FormatException($"'{text}' is not a MAC address (six hex bytes separated by ':')");
        for (int i = 0; i < parts.Length; i++)
            if (parts[i].Length is < 1 or > 2 || !byte.TryParse(parts[i], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out mac[i]))
                throw new FormatException($"'{text}' is not a MAC address (six hex bytes separated by ':')");
        return mac;
    }
}
