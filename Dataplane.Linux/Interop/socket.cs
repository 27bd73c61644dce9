using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;sys/socket.h&gt;, &lt;unistd.h&gt; (close).</summary>
public static unsafe partial class LibC
{
    public const int AF_PACKET = 17;
    public const int AF_XDP = 44;
    public const int SOCK_RAW = 3;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_ERROR = 4;
    public const int SO_SNDBUF = 7;
    public const int SO_RCVBUF = 8;
    public const int SO_SNDBUFFORCE = 32;
    public const int SO_BUSY_POLL = 46;
    public const int MSG_DONTWAIT = 0x40;
    public const int AF_INET = 2;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int bind(int fd, void* addr, uint addrlen);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int optname, void* optval, uint optlen);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockopt(int fd, int level, int optname, void* optval, uint* optlen);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint sendto(int fd, void* buf, nuint len, int flags, void* addr, uint addrlen);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sendmmsg(int fd, mmsghdr* msgvec, uint vlen, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    public static int SetInt(int fd, int level, int opt, int value) => setsockopt(fd, level, opt, &value, sizeof(int));
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct iovec
{
    public void* iov_base;
    public nuint iov_len;
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct msghdr
{
    public void* msg_name;
    public uint msg_namelen;
    public iovec* msg_iov;
    public nuint msg_iovlen;
    public void* msg_control;
    public nuint msg_controllen;
    public int msg_flags;
}

[StructLayout(LayoutKind.Sequential)]
public struct mmsghdr
{
    public msghdr msg_hdr;
    public uint msg_len;
}

public static unsafe partial class LibC
{
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recvfrom(int fd, void* buf, nuint len, int flags, void* addr, uint* addrlen);
}
