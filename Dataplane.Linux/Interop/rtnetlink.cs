using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>
/// &lt;linux/netlink.h&gt;, &lt;linux/rtnetlink.h&gt;, &lt;linux/if_link.h&gt;, &lt;linux/if_addr.h&gt;, &lt;linux/veth.h&gt;:
/// the numbers and headers of the rtnetlink messages <see cref="Netlink.RtNetlink"/> sends and parses.
/// </summary>
public static class Rtnl
{
    public const int AF_NETLINK = 16;
    public const int NETLINK_ROUTE = 0;
    public const int SOL_NETLINK = 270;
    public const int NETLINK_CAP_ACK = 10;
    public const int NETLINK_EXT_ACK = 11;

    // nlmsghdr.nlmsg_type for control messages, nlmsg_flags
    public const ushort NLMSG_ERROR = 2;
    public const ushort NLMSG_DONE = 3;
    public const ushort NLM_F_REQUEST = 0x1;
    public const ushort NLM_F_MULTI = 0x2;
    public const ushort NLM_F_ACK = 0x4;
    public const ushort NLM_F_DUMP = 0x300;
    public const ushort NLM_F_REPLACE = 0x100;
    public const ushort NLM_F_EXCL = 0x200;
    public const ushort NLM_F_CREATE = 0x400;
    /// <summary>On an NLMSG_ERROR: extended-ack attributes follow the (capped) request.</summary>
    public const ushort NLM_F_CAPPED = 0x100;
    public const ushort NLM_F_ACK_TLVS = 0x200;
    public const ushort NLMSGERR_ATTR_MSG = 1;

    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_DELLINK = 17;
    public const ushort RTM_GETLINK = 18;
    public const ushort RTM_NEWADDR = 20;
    public const ushort RTM_DELADDR = 21;
    public const ushort RTM_GETADDR = 22;
    public const ushort RTM_NEWROUTE = 24;
    public const ushort RTM_DELROUTE = 25;
    public const ushort RTM_GETROUTE = 26;

    // IFLA_* (ifinfomsg attributes)
    public const ushort IFLA_ADDRESS = 1;
    public const ushort IFLA_IFNAME = 3;
    public const ushort IFLA_MTU = 4;
    public const ushort IFLA_LINK = 5;
    public const ushort IFLA_MASTER = 10;
    public const ushort IFLA_LINKINFO = 18;
    public const ushort IFLA_NET_NS_FD = 28;
    public const ushort IFLA_INFO_KIND = 1;
    public const ushort IFLA_INFO_DATA = 2;
    public const ushort VETH_INFO_PEER = 1;

    // IFA_* (ifaddrmsg attributes), ifa_flags
    public const ushort IFA_ADDRESS = 1;
    public const ushort IFA_LOCAL = 2;
    public const ushort IFA_FLAGS = 8;
    public const uint IFA_F_NODAD = 0x02;

    // RTA_* (rtmsg attributes)
    public const ushort RTA_DST = 1;
    public const ushort RTA_OIF = 4;
    public const ushort RTA_GATEWAY = 5;
    public const ushort RTA_PRIORITY = 6;
    public const ushort RTA_TABLE = 15;

    public const byte RT_TABLE_MAIN = 254;
    public const byte RTPROT_BOOT = 3;
    public const byte RT_SCOPE_UNIVERSE = 0;
    public const byte RT_SCOPE_LINK = 253;
    public const byte RTN_UNICAST = 1;
    public const uint RTNH_F_ONLINK = 4;

    /// <summary>Attribute type bits that are flags, not part of the type.</summary>
    public const ushort NLA_TYPE_MASK = 0x3fff;
    public const ushort NLA_F_NESTED = 0x8000;

    public const uint IFF_UP = 0x1;
}

[StructLayout(LayoutKind.Sequential)]
public struct nlmsghdr
{
    public uint nlmsg_len;
    public ushort nlmsg_type;
    public ushort nlmsg_flags;
    public uint nlmsg_seq;
    public uint nlmsg_pid;
}

[StructLayout(LayoutKind.Sequential)]
public struct sockaddr_nl
{
    public ushort nl_family;
    public ushort nl_pad;
    public uint nl_pid;
    public uint nl_groups;
}

[StructLayout(LayoutKind.Sequential)]
public struct ifinfomsg
{
    public byte ifi_family;
    public byte ifi_pad;
    public ushort ifi_type;
    public int ifi_index;
    public uint ifi_flags;
    public uint ifi_change;
}

[StructLayout(LayoutKind.Sequential)]
public struct ifaddrmsg
{
    public byte ifa_family;
    public byte ifa_prefixlen;
    public byte ifa_flags;
    public byte ifa_scope;
    public int ifa_index;
}

[StructLayout(LayoutKind.Sequential)]
public struct rtmsg
{
    public byte rtm_family;
    public byte rtm_dst_len;
    public byte rtm_src_len;
    public byte rtm_tos;
    public byte rtm_table;
    public byte rtm_protocol;
    public byte rtm_scope;
    public byte rtm_type;
    public uint rtm_flags;
}

[StructLayout(LayoutKind.Sequential)]
public struct rtattr
{
    public ushort rta_len;
    public ushort rta_type;
}
