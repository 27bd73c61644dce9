using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux.Netlink;

/// <summary>A network interface as rtnetlink reports it. <see cref="Kind"/> is the link type from IFLA_INFO_KIND
/// ("veth", "bridge" …), or null for devices without one (lo, NICs).</summary>
public sealed record LinkInfo(int Index, string Name, uint Flags, int Mtu, byte[] Mac, string? Kind)
{
    public bool IsUp => (Flags & Rtnl.IFF_UP) != 0;

    /// <summary>The MAC as iproute2 prints it ("02:00:00:00:01:01").</summary>
    public string MacText => Netlink.Mac.Format(Mac);
}

/// <summary>
/// The kernel's routing netlink (rtnetlink) over one socket: links (veth pairs, namespaces, state, MTU, MAC, name),
/// addresses and routes — what iproute2's `ip link/addr/route` do, without starting a process. The socket acts in
/// the network namespace it was created in: <see cref="Open"/> for this thread's, <see cref="OpenIn"/> for another
/// (the socket is made on a thread that joined it, see <see cref="NetNamespace.Run{T}"/>; it keeps acting there).
/// Every refusal is a <see cref="NetlinkException"/> naming the operation, the errno and the kernel's message.
/// Not thread-safe.
/// </summary>
public sealed partial class RtNetlink : IDisposable
{
    private readonly NetlinkSocket _socket;

    private RtNetlink(NetlinkSocket socket) => _socket = socket;

    /// <summary>A client for the calling thread's network namespace.</summary>
    public static RtNetlink Open() => new(new NetlinkSocket());

    /// <summary>A client acting in the namespace given by name (/run/netns/NAME) or path (/proc/PID/ns/net, CNI_NETNS).</summary>
    public static RtNetlink OpenIn(string nameOrPath) => NetNamespace.Run(nameOrPath, Open);

    public void Dispose() => _socket.Dispose();

    // ---- links ----

    /// <summary>
    /// Creates a veth pair: <paramref name="name"/> and its peer <paramref name="peerName"/>, each optionally created
    /// directly in another namespace (name or path) and with an MTU (0: the kernel's default).
    /// </summary>
    public void CreateVeth(string name, string peerName, int mtu = 0, string? netns = null, string? peerNetns = null)
    {
        using var nsFd = NamespaceFd.OpenOrNull(netns);
        using var peerFd = NamespaceFd.OpenOrNull(peerNetns);
        var m = new NetlinkMessage(Rtnl.RTM_NEWLINK, Rtnl.NLM_F_ACK | Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL).Append(new ifinfomsg());
        m.Str(Rtnl.IFLA_IFNAME, CheckName(name));
        if (mtu > 0) m.U32(Rtnl.IFLA_MTU, (uint)mtu);
        if (nsFd is not null) m.I32(Rtnl.IFLA_NET_NS_FD, nsFd.Fd);
        int info = m.Begin(Rtnl.IFLA_LINKINFO);
        m.Str(Rtnl.IFLA_INFO_KIND, "veth");
        int data = m.Begin(Rtnl.IFLA_INFO_DATA);
        // The peer is described like a link of its own: an ifinfomsg followed by its attributes.
        int peer = m.Begin(Rtnl.VETH_INFO_PEER);
        m.Append(new ifinfomsg());
        m.Str(Rtnl.IFLA_IFNAME, CheckName(peerName));
        if (mtu > 0) m.U32(Rtnl.IFLA_MTU, (uint)mtu);
        if (peerFd is not null) m.I32(Rtnl.IFLA_NET_NS_FD, peerFd.Fd);
        m.End(peer).End(data).End(info);
        _socket.Ack(m, $"create veth {name}/{peerName}");
    }

    /// <summary>The link named <paramref name="name"/>, or null when this namespace has none.</summary>
    public LinkInfo? GetLink(string name)
    {
        var m = new NetlinkMessage(Rtnl.RTM_GETLINK, 0).Append(new ifinfomsg()).Str(Rtnl.IFLA_IFNAME, CheckName(name));
        return GetOneLink(m, $"get link {name}");
    }

    public LinkInfo? GetLink(int index)
    {
        var m = new NetlinkMessage(Rtnl.RTM_GETLINK, 0).Append(new ifinfomsg { ifi_index = index });
        return GetOneLink(m, $"get link #{index}");
    }

    /// <summary>Every link of the namespace.</summary>
    public List<LinkInfo> Links()
    {
        var list = new List<LinkInfo>();
        var m = new NetlinkMessage(Rtnl.RTM_GETLINK, Rtnl.NLM_F_DUMP).Append(new ifinfomsg());
        _socket.Dump(m, "list links", (type, payload) => { if (type == Rtnl.RTM_NEWLINK) list.Add(ParseLink(payload)); });
        return list;
    }

    public int IndexOf(string name) =>
        GetLink(name)?.Index ?? throw new NetlinkException($"link {name}", NetlinkException.ENODEV, "no such device in this namespace");

    public void SetUp(string name, bool up = true) =>
        SetLink(name, up ? "up" : "down", m => { }, flags: up ? Rtnl.IFF_UP : 0, change: Rtnl.IFF_UP);

    public void SetMtu(string name, int mtu) => SetLink(name, $"mtu {mtu}", m => m.U32(Rtnl.IFLA_MTU, (uint)mtu));

    public void SetMac(string name, string mac)
    {
        var bytes = Netlink.Mac.Parse(mac);
        SetLink(name, $"address {mac}", m => m.Attr(Rtnl.IFLA_ADDRESS, bytes));
    }

    /// <summary>Renames a link (kernels before 6.x refuse while it is up: EBUSY; rename before setting it up).</summary>
    public void Rename(string name, string newName) =>
        SetLink(name, $"name {newName}", m => m.Str(Rtnl.IFLA_IFNAME, CheckName(newName)));

    /// <summary>Moves a link into another network namespace (name or path); it leaves this one, down.</summary>
    public void MoveToNamespace(string name, string netns)
    {
        using var fd = NamespaceFd.OpenOrNull(netns)!;
        SetLink(name, $"netns {netns}", m => m.I32(Rtnl.IFLA_NET_NS_FD, fd.Fd));
    }

    /// <summary>Deletes a link (for a veth, both ends); false when there was no such link.</summary>
    public bool DeleteLink(string name)
    {
        var m = new NetlinkMessage(Rtnl.RTM_DELLINK, Rtnl.NLM_F_ACK).Append(new ifinfomsg()).Str(Rtnl.IFLA_IFNAME, CheckName(name));
        try { _socket.Ack(m, $"delete link {name}"); return true; }
        catch (NetlinkException e) when (e.IsNotFound) { return false; }
    }

    private void SetLink(string name, string what, Action<NetlinkMessage> attrs, uint flags = 0, uint change = 0)
    {
        // By index: IFLA_IFNAME in the request would be read as the new name.
        int index = IndexOf(name);
        var m = new NetlinkMessage(Rtnl.RTM_NEWLINK, Rtnl.NLM_F_ACK)
            .Append(new ifinfomsg { ifi_index = index, ifi_flags = flags, ifi_change = change });
        attrs(m);
        _socket.Ack(m, $"set link {name} {what}");
    }

    private LinkInfo? GetOneLink(NetlinkMessage m, string operation)
    {
        LinkInfo? found = null;
        try { _socket.Get(m, operation, (type, payload) => { if (type == Rtnl.RTM_NEWLINK) found = ParseLink(payload); }); }
        catch (NetlinkException e) when (e.IsNotFound) { return null; }
        return found;
    }

    private static LinkInfo ParseLink(ReadOnlySpan<byte> payload)
    {
        var h = MemoryMarshal.Read<ifinfomsg>(payload);
        string name = "";
        int mtu = 0;
        byte[] mac = [];
        string? kind = null;
        var attrs = new NetlinkAttributes(payload[Marshal.SizeOf<ifinfomsg>()..]);
        while (attrs.Next(out ushort type, out var value))
        {
            switch (type)
            {
                case Rtnl.IFLA_IFNAME: name = NetlinkAttributes.Str(value); break;
                case Rtnl.IFLA_MTU: mtu = (int)NetlinkAttributes.U32(value); break;
                case Rtnl.IFLA_ADDRESS: mac = value.ToArray(); break;
                case Rtnl.IFLA_LINKINFO:
                    var info = new NetlinkAttributes(value);
                    while (info.Next(out ushort t, out var v))
                        if (t == Rtnl.IFLA_INFO_KIND) kind = NetlinkAttributes.Str(v);
                    break;
            }
        }
        return new LinkInfo(h.ifi_index, name, h.ifi_flags, mtu, mac, kind);
    }

    private static string CheckName(string name)
    {
        if (name.Length is 0 or >= LibC.IFNAMSIZ || name.Contains('/') || name.Any(char.IsWhiteSpace))
            throw new ArgumentException($"'{name}' is not an interface name (1-15 characters, no '/' or spaces)", nameof(name));
        return name;
    }
}
