using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;
using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Transport;

namespace Dataplane.Linux.WireGuard;

/// <summary>
/// A dual-stack UDP socket (IPv4 peers as IPv4-mapped addresses) that moves batches of WireGuard messages with
/// one recvmmsg/sendmmsg each, straight from and into the batch's buffers. Message headers and addresses live
/// in native memory made once; nothing is allocated per packet.
/// </summary>
public sealed unsafe class UdpBatchSocket : IDisposable
{
    private int _fd;
    private readonly int _capacity;
    // One set of headers for the receiving thread and one for the sending thread: they run at the same time.
    private readonly Headers _rx, _tx;

    private readonly struct Headers(int n)
    {
        public readonly mmsghdr* Msgs = (mmsghdr*)NativeMemory.AllocZeroed((nuint)(n * sizeof(mmsghdr)));
        public readonly iovec* Iov = (iovec*)NativeMemory.AllocZeroed((nuint)(n * sizeof(iovec)));
        public readonly sockaddr_in6* Names = (sockaddr_in6*)NativeMemory.AllocZeroed((nuint)(n * sizeof(sockaddr_in6)));

        public void Free()
        {
            NativeMemory.Free(Msgs);
            NativeMemory.Free(Iov);
            NativeMemory.Free(Names);
        }
    }

    /// <summary>Binds [::]:<paramref name="port"/> in the calling thread's network namespace.</summary>
    public UdpBatchSocket(ushort port, int batchSize)
    {
        _capacity = batchSize;
        _fd = LibC.socket(LibC.AF_INET6, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK, 0);
        if (_fd < 0) throw Errno.Error("socket(AF_INET6, SOCK_DGRAM)");
        try
        {
            LibC.SetInt(_fd, LibC.IPPROTO_IPV6, LibC.IPV6_V6ONLY, 0);
            LibC.SetInt(_fd, LibC.SOL_SOCKET, LibC.SO_RCVBUF, 4 << 20);
            LibC.SetInt(_fd, LibC.SOL_SOCKET, LibC.SO_SNDBUF, 4 << 20);
            var sa = new sockaddr_in6 { sin6_family = LibC.AF_INET6, sin6_port = BinaryPrimitives.ReverseEndianness(port) };
            if (LibC.bind(_fd, &sa, (uint)sizeof(sockaddr_in6)) != 0) throw Errno.Error($"bind UDP [::]:{port}");
        }
        catch { LibC.close(_fd); throw; }
        Port = port;
        _rx = new Headers(batchSize);
        _tx = new Headers(batchSize);
    }

    public ushort Port { get; }
    public int Fd => _fd;

    /// <summary>Receives up to the batch size into the packets' buffers (from their Offset); returns how many, 0 when none waits, -1 once closed.</summary>
    public int Receive(Span<WgPacket> packets)
    {
        int n = Math.Min(packets.Length, _capacity);
        mmsghdr* msgs = _rx.Msgs; iovec* iov = _rx.Iov; sockaddr_in6* names = _rx.Names;
        for (int i = 0; i < n; i++)
        {
            ref var p = ref packets[i];
            iov[i] = new iovec { iov_base = p.Buffer + p.Offset, iov_len = (nuint)(p.Capacity - p.Offset) };
            msgs[i].msg_hdr = new msghdr { msg_name = &names[i], msg_namelen = (uint)sizeof(sockaddr_in6), msg_iov = &iov[i], msg_iovlen = 1 };
        }
        int got = LibC.recvmmsg(_fd, msgs, (uint)n, LibC.MSG_DONTWAIT, null);
        if (got < 0) return Errno.Last is Errno.EAGAIN or Errno.EINTR ? 0 : -1;
        for (int i = 0; i < got; i++)
        {
            ref var p = ref packets[i];
            p.Length = (int)msgs[i].msg_len;
            p.Endpoint = ToEndpoint(in names[i]);
        }
        return got;
    }

    /// <summary>Sends every packet whose verdict is <see cref="WgVerdict.Send"/> to its endpoint; returns how many the kernel took.</summary>
    public int SendBatch(ReadOnlySpan<WgPacket> packets)
    {
        int total = 0, n = 0;
        iovec* iov = _tx.Iov; sockaddr_in6* names = _tx.Names; mmsghdr* msgs = _tx.Msgs;
        foreach (ref readonly var p in packets)
        {
            if (p.Verdict != WgVerdict.Send) continue;
            iov[n] = new iovec { iov_base = p.Buffer + p.Offset, iov_len = (nuint)p.Length };
            WriteName(p.Endpoint, ref names[n]);
            msgs[n].msg_hdr = new msghdr { msg_name = &names[n], msg_namelen = (uint)sizeof(sockaddr_in6), msg_iov = &iov[n], msg_iovlen = 1 };
            if (++n == _capacity) { total += Flush(n); n = 0; }
        }
        return n > 0 ? total + Flush(n) : total;
    }

    private int Flush(int n)
    {
        int sent = 0;
        while (sent < n)
        {
            int r = LibC.sendmmsg(_fd, _tx.Msgs + sent, (uint)(n - sent), 0);
            if (r <= 0) break;
            sent += r;
        }
        return sent;
    }

    /// <summary>One datagram (handshakes, keepalives: the control loop's traffic).</summary>
    public void SendTo(ReadOnlySpan<byte> datagram, in WgEndpoint to)
    {
        sockaddr_in6 sa = default;
        WriteName(to, ref sa);
        fixed (byte* b = datagram) LibC.sendto(_fd, b, (nuint)datagram.Length, 0, &sa, (uint)sizeof(sockaddr_in6));
    }

    private static WgEndpoint ToEndpoint(in sockaddr_in6 sa)
    {
        fixed (byte* a = sa.sin6_addr)
            return new WgEndpoint(BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(a, 16)), BinaryPrimitives.ReverseEndianness(sa.sin6_port));
    }

    private static void WriteName(in WgEndpoint ep, ref sockaddr_in6 sa)
    {
        sa.sin6_family = LibC.AF_INET6;
        sa.sin6_port = BinaryPrimitives.ReverseEndianness(ep.Port);
        fixed (byte* a = sa.sin6_addr) BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(a, 16), ep.Address);
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0) return;
        LibC.close(fd);
        _rx.Free();
        _tx.Free();
    }
}
