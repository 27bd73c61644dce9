using Dataplane.Linux.Interop;
using static Dataplane.Linux.Interop.Ethtool;

namespace Dataplane.Linux;

/// <summary>
/// A device's checksum and segmentation offloads, read and changed through the SIOCETHTOOL ioctl (what
/// `ethtool -k/-K` does), in the calling thread's network namespace. The backends cope with offloads left on;
/// this is for the veths the dataplane creates itself, where complete wire-sized frames are cheaper to forward.
/// </summary>
public static unsafe class DeviceOffloads
{
    /// <summary>Transmit checksum, TSO, GSO and GRO of a device.</summary>
    public readonly record struct State(bool TxChecksum, bool Tso, bool Gso, bool Gro);

    public static State Get(string ifName) => new(
        Value(ifName, ETHTOOL_GTXCSUM) != 0, Value(ifName, ETHTOOL_GTSO) != 0,
        Value(ifName, ETHTOOL_GGSO) != 0, Value(ifName, ETHTOOL_GGRO) != 0);

    /// <summary>
    /// Turns transmit checksum offload, TSO, GSO and GRO off: the device then hands its peer complete frames
    /// no larger than its MTU. Throws <see cref="LinuxException"/> with the failing command.
    /// </summary>
    public static void DisableAll(string ifName)
    {
        // TSO depends on checksum offload: the kernel turns it off with tx, but each is asked explicitly.
        Set(ifName, ETHTOOL_STSO, 0);
        Set(ifName, ETHTOOL_SGSO, 0);
        Set(ifName, ETHTOOL_SGRO, 0);
        Set(ifName, ETHTOOL_STXCSUM, 0);
    }

    private static uint Value(string ifName, uint cmd)
    {
        ethtool_value v = new() { cmd = cmd };
        Call(ifName, &v, cmd);
        return v.data;
    }

    private static void Set(string ifName, uint cmd, uint value)
    {
        ethtool_value v = new() { cmd = cmd, data = value };
        Call(ifName, &v, cmd);
    }

    private static void Call(string ifName, ethtool_value* v, uint cmd)
    {
        if (ifName.Length is 0 or >= LibC.IFNAMSIZ) throw new ArgumentException($"bad interface name: {ifName}", nameof(ifName));
        ifreq_data req = default;
        for (int i = 0; i < ifName.Length; i++) req.ifr_name[i] = (byte)ifName[i];
        req.ifr_data = v;
        int fd = LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        Errno.Check(fd, "socket(AF_INET)");
        try { Errno.Check(LibC.ioctl(fd, SIOCETHTOOL, &req), $"SIOCETHTOOL(0x{cmd:x}, {ifName})"); }
        finally { LibC.close(fd); }
    }
}
