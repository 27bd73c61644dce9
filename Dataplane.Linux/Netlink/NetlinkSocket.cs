using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux.Netlink;

/// <summary>
/// An AF_NETLINK/NETLINK_ROUTE socket doing one request at a time: send, then read until the kernel's ACK (or
/// error), the one reply, or the end of a dump. The socket belongs to the network namespace it was created in
/// and acts there whichever thread uses it. Not thread-safe: one caller at a time.
/// </summary>
internal sealed unsafe class NetlinkSocket : IDisposable
{
    // A dump's datagram holds at most a page or so of messages per read; 64 KiB covers what the kernel sends at once.
    private readonly byte[] _rx = new byte[64 * 1024];
    private int _fd;
    private uint _seq = (uint)Environment.TickCount;

    public NetlinkSocket()
    {
        _fd = LibC.socket(Rtnl.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, Rtnl.NETLINK_ROUTE);
        Errno.Check(_fd, "socket(AF_NETLINK, NETLINK_ROUTE)");
        // Errors carry the kernel's own sentence (extended ACK) and not a copy of our request (capped ACK); older
        // kernels without them still answer, just more tersely.
        LibC.SetInt(_fd, Rtnl.SOL_NETLINK, Rtnl.NETLINK_EXT_ACK, 1);
        LibC.SetInt(_fd, Rtnl.SOL_NETLINK, Rtnl.NETLINK_CAP_ACK, 1);
        var local = new sockaddr_nl { nl_family = Rtnl.AF_NETLINK };
        if (LibC.bind(_fd, &local, (uint)sizeof(sockaddr_nl)) < 0)
        {
            var e = Errno.Error("bind(AF_NETLINK)");
            LibC.close(_fd);
            throw e;
        }
    }

    /// <summary>Sends a request that changes something and waits for its ACK; a refusal throws.</summary>
    public void Ack(NetlinkMessage request, string operation)
    {
        Exchange(request, operation, null);
    }

    /// <summary>Sends a request for one object; <paramref name="onReply"/> sees the reply's payload (after nlmsghdr).</summary>
    public void Get(NetlinkMessage request, string operation, ReplyHandler onReply) => Exchange(request, operation, onReply);

    /// <summary>Sends a dump request; <paramref name="onReply"/> sees each object's payload.</summary>
    public void Dump(NetlinkMessage request, string operation, ReplyHandler onReply) => Exchange(request, operation, onReply);

    public delegate void ReplyHandler(ushort type, ReadOnlySpan<byte> payload);

    private void Exchange(NetlinkMessage request, string operation, ReplyHandler? onReply)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        uint seq = ++_seq;
        var bytes = request.Finish(seq);
        var kernel = new sockaddr_nl { nl_family = Rtnl.AF_NETLINK };
        fixed (byte* p = bytes)
        {
            while (LibC.sendto(_fd, p, (nuint)bytes.Length, 0, &kernel, (uint)sizeof(sockaddr_nl)) < 0)
                if (Errno.Last != Errno.EINTR) throw Errno.Error($"{operation}: sendto(netlink)");
        }
        while (true)
        {
            nint n;
            fixed (byte* p = _rx)
            {
                while ((n = LibC.recvfrom(_fd, p, (nuint)_rx.Length, 0, null, null)) < 0)
                    if (Errno.Last != Errno.EINTR) throw Errno.Error($"{operation}: recv(netlink)");
            }
            var rest = _rx.AsSpan(0, (int)n);
            while (rest.Length >= sizeof(nlmsghdr))
            {
                var h = MemoryMarshal.Read<nlmsghdr>(rest);
                if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > rest.Length)
                    throw new NetlinkException(operation, 74 /* EBADMSG */, $"malformed reply ({h.nlmsg_len} bytes of {rest.Length})");
                var payload = rest[sizeof(nlmsghdr)..(int)h.nlmsg_len];
                int next = ((int)h.nlmsg_len + 3) & ~3;
                rest = next >= rest.Length ? default : rest[next..];
                if (h.nlmsg_seq != seq) continue;   // a late answer to an earlier request
                switch (h.nlmsg_type)
                {
                    case Rtnl.NLMSG_ERROR:
                        int err = BinaryPrimitives.ReadInt32LittleEndian(payload);
                        if (err != 0) throw new NetlinkException(operation, -err, ExtAckMessage(h, payload));
                        return;   // the ACK: done
                    case Rtnl.NLMSG_DONE:
                        int dumpErr = payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(payload) : 0;
                        if (dumpErr < 0) throw new NetlinkException(operation, -dumpErr, null);
                        return;
                    default:
                        onReply?.Invoke(h.nlmsg_type, payload);
                        // A single reply (no dump, no ACK asked) ends the exchange.
                        if ((h.nlmsg_flags & Rtnl.NLM_F_MULTI) == 0 && !AwaitsAck(request)) return;
                        break;
                }
            }
        }
    }

    private static bool AwaitsAck(NetlinkMessage request) => request.WantsAck;

    /// <summary>NLMSGERR_ATTR_MSG after the error's copy of the request header (capped) or the whole request.</summary>
    private static string? ExtAckMessage(nlmsghdr h, ReadOnlySpan<byte> payload)
    {
        if ((h.nlmsg_flags & Rtnl.NLM_F_ACK_TLVS) == 0 || payload.Length < 4 + sizeof(nlmsghdr)) return null;
        var inner = MemoryMarshal.Read<nlmsghdr>(payload[4..]);
        int skip = 4 + ((h.nlmsg_flags & Rtnl.NLM_F_CAPPED) != 0 ? sizeof(nlmsghdr) : (int)((inner.nlmsg_len + 3) & ~3u));
        if (skip > payload.Length) return null;
        var attrs = new NetlinkAttributes(payload[skip..]);
        while (attrs.Next(out ushort type, out var value))
            if (type == Rtnl.NLMSGERR_ATTR_MSG) return NetlinkAttributes.Str(value);
        return null;
    }

    public void Dispose()
    {
        if (_fd >= 0) { LibC.close(_fd); _fd = -1; }
    }
}
