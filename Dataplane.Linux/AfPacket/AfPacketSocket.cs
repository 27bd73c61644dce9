using Dataplane.Linux.Interop;
using static Dataplane.Linux.Interop.IfPacket;

namespace Dataplane.Linux.AfPacket;

/// <summary>
/// An AF_PACKET socket with everything that does not depend on the interface already set: TPACKET_V3, the
/// receive ring (mapped), PACKET_VNET_HDR, reserve, outgoing frames ignored, qdisc bypass, send buffer. It is
/// created with protocol 0 and not bound, so the kernel queues nothing to it until <see cref="AfPacketPort"/>
/// binds it to an interface.
/// </summary>
/// <remarks>
/// Why it exists apart from the port: setting PACKET_RX_RING waits out an RCU grace period in the kernel
/// (<c>packet_set_ring</c> calls <c>synchronize_net</c> whether or not the socket runs), milliseconds that a
/// pod's registration would otherwise wait for. <see cref="AfPacketSocketPool"/> makes these ahead of time.
/// </remarks>
public sealed unsafe class AfPacketSocket : IDisposable
{
    private AfPacketSocket(AfPacketOptions options) => Options = options;

    /// <summary>The options it was made with (only the interface-independent ones are applied here).</summary>
    public AfPacketOptions Options { get; }
    public int Fd { get; private set; } = -1;
    public byte* Ring { get; private set; }
    public nuint RingSize { get; private set; }
    /// <summary>Whether the kernel hands frames with their offload state (PACKET_VNET_HDR took).</summary>
    public bool VnetHeader { get; private set; }
    public bool QdiscBypass { get; private set; }

    /// <summary>Makes one; throws <see cref="LinuxException"/> (and leaves nothing open) when the kernel refuses a step.</summary>
    public static AfPacketSocket Create(AfPacketOptions o)
    {
        var s = new AfPacketSocket(o);
        try
        {
            // Protocol 0 until bind: nothing is queued from any interface meanwhile.
            s.Fd = LibC.socket(LibC.AF_PACKET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
            Errno.Check(s.Fd, "socket(AF_PACKET)");
            Errno.Check(LibC.SetInt(s.Fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3), "setsockopt(PACKET_VERSION)");
            // Before the ring exists (the kernel refuses it after): the skb's checksum/GSO state with every frame.
            s.VnetHeader = o.VnetHeader && LibC.SetInt(s.Fd, SOL_PACKET, PACKET_VNET_HDR, 1) == 0;
            if (o.Reserve > 0)
                Errno.Check(LibC.SetInt(s.Fd, SOL_PACKET, PACKET_RESERVE, o.Reserve), "setsockopt(PACKET_RESERVE)");
            tpacket_req3 req = default;
            req.tp_block_size = (uint)o.BlockSize;
            req.tp_block_nr = (uint)o.BlockCount;
            req.tp_frame_size = (uint)o.FrameSize;
            req.tp_frame_nr = (uint)(o.BlockSize / o.FrameSize * o.BlockCount);
            req.tp_retire_blk_tov = (uint)o.BlockTimeoutMs;
            Errno.Check(LibC.setsockopt(s.Fd, SOL_PACKET, PACKET_RX_RING, &req, (uint)sizeof(tpacket_req3)), "setsockopt(PACKET_RX_RING)");
            s.RingSize = (nuint)o.BlockSize * (nuint)o.BlockCount;
            void* map = LibC.mmap(null, s.RingSize, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_POPULATE, s.Fd, 0);
            if (map == LibC.MAP_FAILED) throw Errno.Error("mmap(PACKET_RX_RING)");
            s.Ring = (byte*)map;

            // Not fatal on older kernels: the port also checks sll_pkttype per frame.
            LibC.SetInt(s.Fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
            if (o.QdiscBypass) s.QdiscBypass = LibC.SetInt(s.Fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1) == 0;
            if (LibC.SetInt(s.Fd, LibC.SOL_SOCKET, LibC.SO_SNDBUFFORCE, o.SendBufferBytes) != 0)
                LibC.SetInt(s.Fd, LibC.SOL_SOCKET, LibC.SO_SNDBUF, o.SendBufferBytes);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>Whether this socket was made for ports with <paramref name="o"/> (the interface-bound options aside).</summary>
    public bool Fits(AfPacketOptions o) => Options with { FanoutGroup = 0, Promiscuous = false } == o with { FanoutGroup = 0, Promiscuous = false };

    /// <summary>Unmaps the ring and closes the socket. Slow: closing a socket with a ring waits out RCU grace periods.</summary>
    public void Dispose()
    {
        if (Ring != null) { LibC.munmap(Ring, RingSize); Ring = null; }
        if (Fd >= 0) { LibC.close(Fd); Fd = -1; }
    }
}
