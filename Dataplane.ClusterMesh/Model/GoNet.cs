using System.Net;
using System.Net.Sockets;

namespace Dataplane.ClusterMesh.Model;

/// <summary>
/// How Go's encoding/json writes the net types Cilium stores: net.IP as its text form ("10.0.0.1", "f00d::1",
/// null when nil), net.IPMask as a byte slice, i.e. base64 ("////AA==" for /24), null when nil.
/// </summary>
public static class GoNet
{
    public static string MaskOf(int prefixLength, AddressFamily family)
    {
        var bytes = new byte[family == AddressFamily.InterNetwork ? 4 : 16];
        for (int i = 0; i < prefixLength; i++) bytes[i / 8] |= (byte)(0x80 >> (i % 8));
        return Convert.ToBase64String(bytes);
    }

    /// <summary>The prefix length of a base64 mask; -1 when it is not a contiguous mask.</summary>
    public static int PrefixLengthOf(string mask)
    {
        byte[] bytes;
        try { bytes = Convert.FromBase64String(mask); }
        catch (FormatException) { return -1; }
        if (bytes.Length is not (4 or 16)) return -1;
        int len = 0; bool ended = false;
        foreach (var b in bytes)
            for (int bit = 7; bit >= 0; bit--)
            {
                bool one = (b >> bit & 1) != 0;
                if (one && ended) return -1;
                if (one) len++; else ended = true;
            }
        return len;
    }

    /// <summary>A {IP, Mask} pair (Go's net.IPNet) as a prefix; null when absent or malformed.</summary>
    public static IPNetwork? Network(string? ip, string? mask)
    {
        if (ip == null || mask == null || !IPAddress.TryParse(ip, out var a)) return null;
        int len = PrefixLengthOf(mask);
        int bits = a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (len < 0 || len > bits) return null;
        return new IPNetwork(a, len);
    }
}
