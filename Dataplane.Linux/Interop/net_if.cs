using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;net/if.h&gt;, &lt;sys/ioctl.h&gt; and the SIOC* requests of &lt;linux/sockios.h&gt;.</summary>
public static unsafe partial class LibC
{
    public const int IFNAMSIZ = 16;
    public const uint SIOCGIFFLAGS = 0x8913;
    public const uint SIOCGIFMTU = 0x8921;
    public const uint SIOCGIFHWADDR = 0x8927;
    public const uint SIOCGIFINDEX = 0x8933;
    public const short IFF_UP = 0x1;
    public const short IFF_RUNNING = 0x40;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint if_nametoindex(string name);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);
}

/// <summary>struct ifreq: 16 bytes of name, then a 24-byte union (sockaddr, flags, mtu, ifindex …).</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct ifreq
{
    [FieldOffset(0)] public fixed byte ifr_name[16];
    /// <summary>ifr_hwaddr.sa_family.</summary>
    [FieldOffset(16)] public ushort ifr_hwaddr_family;
    /// <summary>ifr_hwaddr.sa_data: the MAC address for SIOCGIFHWADDR.</summary>
    [FieldOffset(18)] public fixed byte ifr_hwaddr_data[14];
    [FieldOffset(16)] public short ifr_flags;
    [FieldOffset(16)] public int ifr_ifindex;
    [FieldOffset(16)] public int ifr_mtu;

    public void SetName(string name)
    {
        if (name.Length >= 16) throw new ArgumentException($"interface name too long: {name}");
        for (int i = 0; i < 16; i++) ifr_name[i] = i < name.Length ? (byte)name[i] : (byte)0;
    }
}
