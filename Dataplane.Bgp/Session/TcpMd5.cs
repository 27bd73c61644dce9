using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dataplane.Bgp.Session;

/// <summary>
/// TCP MD5 signatures (RFC 2385) for BGP sessions, through Linux's TCP_MD5SIG socket option: the key is
/// bound to the peer's address, on the connecting socket and on the listening socket alike.
/// </summary>
public static class TcpMd5
{
    private const int IPPROTO_TCP = 6;
    private const int TCP_MD5SIG = 14;
    private const int MaxKeyLength = 80; // TCP_MD5SIG_MAXKEYLEN

    /// <summary>Whether this kernel signs TCP with MD5 (CONFIG_TCP_MD5SIG); when not, <paramref name="reason"/> says why.</summary>
    public static bool IsSupported(out string reason)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            SetKey(s, IPAddress.Loopback, "probe");
            reason = "";
            return true;
        }
        catch (SocketException e)
        {
            reason = $"setsockopt(TCP_MD5SIG) failed: {e.Message} (kernel built without CONFIG_TCP_MD5SIG?)";
            return false;
        }
    }

    /// <summary>Installs <paramref name="password"/> for <paramref name="peer"/> on <paramref name="socket"/>.</summary>
    internal static void SetKey(Socket socket, IPAddress peer, string password)
    {
        var key = Encoding.UTF8.GetBytes(password);
        if (key.Length > MaxKeyLength) throw new ArgumentException($"TCP MD5 keys are at most {MaxKeyLength} bytes");
        // struct tcp_md5sig: sockaddr_storage (128), flags (1), prefixlen (1), keylen (2), ifindex (4), key (80).
        var opt = new byte[128 + 1 + 1 + 2 + 4 + MaxKeyLength];
        // A dual-mode IPv6 socket sees IPv4 peers as v4-mapped addresses; the kernel maps those keys back.
        var addr = socket.AddressFamily == AddressFamily.InterNetworkV6 && peer.AddressFamily == AddressFamily.InterNetwork ? peer.MapToIPv6() : peer;
        if (addr.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(opt, 2);   // AF_INET (host order)
            addr.TryWriteBytes(opt.AsSpan(4, 4), out _);        // sin_port = 0, sin_addr
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(opt, 10);  // AF_INET6
            addr.TryWriteBytes(opt.AsSpan(8, 16), out _);       // sin6_port, sin6_flowinfo = 0, sin6_addr
        }
        BinaryPrimitives.WriteUInt16LittleEndian(opt.AsSpan(130), (ushort)key.Length);
        key.CopyTo(opt, 136);
        socket.SetRawSocketOption(IPPROTO_TCP, TCP_MD5SIG, opt);
    }
}
