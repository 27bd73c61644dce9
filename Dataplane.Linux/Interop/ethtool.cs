using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;linux/ethtool.h&gt;: the SIOCETHTOOL ioctl and the legacy per-feature get/set commands.</summary>
public static class Ethtool
{
    public const uint SIOCETHTOOL = 0x8946;

    public const uint ETHTOOL_GTXCSUM = 0x16;
    public const uint ETHTOOL_STXCSUM = 0x17;
    public const uint ETHTOOL_GTSO = 0x1e;
    public const uint ETHTOOL_STSO = 0x1f;
    public const uint ETHTOOL_GGSO = 0x23;
    public const uint ETHTOOL_SGSO = 0x24;
    public const uint ETHTOOL_GGRO = 0x2b;
    public const uint ETHTOOL_SGRO = 0x2c;
}

/// <summary>struct ethtool_value: a command and one 32-bit value (a feature's on/off).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ethtool_value
{
    public uint cmd;
    public uint data;
}

/// <summary>struct ifreq with ifr_data: the name, then a pointer to the ethtool command.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct ifreq_data
{
    [FieldOffset(0)] public fixed byte ifr_name[16];
    [FieldOffset(16)] public void* ifr_data;
}
