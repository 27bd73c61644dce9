using Dataplane.Linux.Interop;

namespace Dataplane.Linux.WireGuard;

/// <summary>
/// A TUN device (IFF_TUN | IFF_NO_PI: bare IP packets) made in the network namespace of the calling thread, as
/// wireguard-go makes its interface. The descriptor is non-blocking; the device disappears when it is closed.
/// </summary>
public sealed unsafe class TunDevice : IDisposable
{
    private int _fd;

    public TunDevice(string name)
    {
        _fd = LibC.open("/dev/net/tun", LibC.O_RDWR | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (_fd < 0) throw Errno.Error("open /dev/net/tun");
        var req = default(ifreq);
        req.SetName(name);
        req.ifr_flags = LibC.IFF_TUN | LibC.IFF_NO_PI;
        if (LibC.ioctl(_fd, LibC.TUNSETIFF, &req) != 0)
        {
            var e = Errno.Error($"TUNSETIFF {name}");
            LibC.close(_fd);
            throw e;
        }
        Name = name;
    }

    public string Name { get; }
    public int Fd => _fd;

    /// <summary>One packet into <paramref name="buffer"/>: its length, 0 when none is waiting, -1 once closed.</summary>
    public int Read(byte* buffer, int capacity)
    {
        nint n = LibC.read(_fd, buffer, (nuint)capacity);
        if (n >= 0) return (int)n;
        int err = Errno.Last;
        return err is Errno.EAGAIN or Errno.EINTR ? 0 : -1;
    }

    /// <summary>Hands one IP packet to the kernel; false if it refused it (counted by the caller).</summary>
    public bool Write(byte* packet, int length) => LibC.write(_fd, packet, (nuint)length) == length;

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) LibC.close(fd);
    }
}
