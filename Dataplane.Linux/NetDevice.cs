using Dataplane.Linux.Interop;

namespace Dataplane.Linux;

/// <summary>Facts about a network interface read through ioctl (no netlink needed for these).</summary>
public static unsafe class NetDevice
{
    /// <summary>Interface index, or 0 when no such interface exists in this network namespace.</summary>
    public static int IndexOf(string name) => name.Length >= LibC.IFNAMSIZ ? 0 : (int)LibC.if_nametoindex(name);

    public static bool Exists(string name) => IndexOf(name) != 0;

    /// <summary>The MAC address as a 48-bit number in wire order (first byte most significant).</summary>
    public static ulong MacOf(string name)
    {
        ifreq req = default;
        req.SetName(name);
        Ioctl(LibC.SIOCGIFHWADDR, ref req);
        ulong mac = 0;
        for (int i = 0; i < 6; i++) mac = (mac << 8) | req.ifr_hwaddr_data[i];
        return mac;
    }

    public static bool IsUp(string name)
    {
        ifreq req = default;
        req.SetName(name);
        Ioctl(LibC.SIOCGIFFLAGS, ref req);
        return (req.ifr_flags & LibC.IFF_UP) != 0;
    }

    private static void Ioctl(uint request, ref ifreq req)
    {
        int fd = LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        Errno.Check(fd, "socket(AF_INET)");
        try
        {
            fixed (ifreq* p = &req)
                Errno.Check(LibC.ioctl(fd, request, p), $"ioctl(0x{request:x})");
        }
        finally { LibC.close(fd); }
    }
}
