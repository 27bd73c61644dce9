using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Host.Backends.Ebpf;

/// <summary>
/// An interface's kernel driver name (ethtool ETHTOOL_GDRVINFO, as `ethtool -i` prints it), asked through a socket
/// of the calling thread's network namespace. The agent needs it to know a veth: XDP_REDIRECT into a veth in
/// native mode only arrives if the veth's peer runs NAPI (an XDP program or GRO on, in the pod's namespace, which
/// the agent does not own), so on veths it attaches in generic mode, where redirects go through the stack.
/// </summary>
internal static unsafe partial class DriverName
{
    private const int AF_INET = 2, SOCK_DGRAM = 2, SIOCETHTOOL = 0x8946, ETHTOOL_GDRVINFO = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct ethtool_drvinfo
    {
        public uint cmd;
        public fixed byte driver[32];
        public fixed byte rest[32 * 4 + 12 + 5 * 4];
    }

    [StructLayout(LayoutKind.Sequential, Size = 40)]
    private struct ifreq_ethtool
    {
        public fixed byte ifr_name[16];
        public ethtool_drvinfo* ifr_data;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    /// <summary>The driver name ("veth", "virtio_net", …), or "" when the interface does not answer.</summary>
    public static string Of(string ifname)
    {
        if (Encoding.UTF8.GetByteCount(ifname) >= 16) return "";
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0) return "";
        try
        {
            ethtool_drvinfo info = default;
            info.cmd = ETHTOOL_GDRVINFO;
            ifreq_ethtool req = default;
            Encoding.UTF8.GetBytes(ifname, new Span<byte>(req.ifr_name, 15));
            req.ifr_data = &info;
            if (ioctl(fd, SIOCETHTOOL, &req) != 0) return "";
            var name = new ReadOnlySpan<byte>(info.driver, 32);
            int end = name.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? name : name[..end]);
        }
        finally { close(fd); }
    }
}
