using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;linux/if_tun.h&gt;, &lt;fcntl.h&gt; (open), &lt;netinet/in.h&gt; (sockaddr_in6, IPV6_V6ONLY) and recvmmsg.</summary>
public static unsafe partial class LibC
{
    /// <summary>_IOW('T', 202, int).</summary>
    public const nuint TUNSETIFF = 0x400454ca;
    public const short IFF_TUN = 0x0001;
    public const short IFF_NO_PI = 0x1000;
    public const int O_RDWR = 2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int AF_INET6 = 10;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 26;
    public const int SOCK_NONBLOCK = 0x800;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int recvmmsg(int fd, mmsghdr* msgvec, uint vlen, int flags, timespec* timeout);
}

/// <summary>struct sockaddr_in6 (28 bytes); IPv4 peers appear as IPv4-mapped addresses on a dual-stack socket.</summary>
[StructLayout(LayoutKind.Sequential, Size = 28)]
public unsafe struct sockaddr_in6
{
    public ushort sin6_family;
    /// <summary>Network byte order.</summary>
    public ushort sin6_port;
    public uint sin6_flowinfo;
    public fixed byte sin6_addr[16];
    public uint sin6_scope_id;
}
