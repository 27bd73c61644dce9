using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux.Netlink;

/// <summary>An address on a link; prints as the address with its prefix length (198.18.0.2/24).</summary>
public sealed record LinkAddress(int LinkIndex, IPAddress Address, int PrefixLength, uint Flags)
{
    public bool NoDad => (Flags & Rtnl.IFA_F_NODAD) != 0;
    public override string ToString() => $"{Address}/{PrefixLength}";
}

public sealed partial class RtNetlink
{
    /// <summary>
    /// Adds <paramref name="address"/>/<paramref name="prefixLength"/> to a link. <paramref name="noDad"/> (IPv6): the
    /// address is usable at once instead of after duplicate address detection — right when the address is ours
    /// by allocation (IPAM), as a DAD delay would hold the first packets back.
    /// </summary>
    public void AddAddress(string link, IPAddress address, int prefixLength, bool noDad = false) =>
        _socket.Ack(AddressMessage(Rtnl.RTM_NEWADDR, Rtnl.NLM_F_ACK | Rtnl.NLM_F_CREATE | Rtnl.NLM_F_EXCL, link, address, prefixLength, noDad),
            $"add address {address}/{prefixLength} to {link}");

    /// <summary>Removes an address from a link; false when the link does not carry it.</summary>
    public bool DeleteAddress(string link, IPAddress address, int prefixLength)
    {
        try
        {
            _socket.Ack(AddressMessage(Rtnl.RTM_DELADDR, Rtnl.NLM_F_ACK, link, address, prefixLength, false),
                $"delete address {address}/{prefixLength} from {link}");
            return true;
        }
        catch (NetlinkException e) when (e.IsNotFound) { return false; }
    }

    /// <summary>The addresses of one link (null: of every link), of one family or both.</summary>
    public List<LinkAddress> Addresses(string? link = null, AddressFamily family = AddressFamily.Unspecified)
    {
        int index = link is null ? 0 : IndexOf(link);
        var list = new List<LinkAddress>();
        var m = new NetlinkMessage(Rtnl.RTM_GETADDR, Rtnl.NLM_F_DUMP).Append(new ifaddrmsg { ifa_family = Family(family) });
        _socket.Dump(m, $"list addresses{(link is null ? "" : $" of {link}")}", (type, payload) =>
        {
            if (type != Rtnl.RTM_NEWADDR) return;
            var h = MemoryMarshal.Read<ifaddrmsg>(payload);
            if (index != 0 && h.ifa_index != index) return;
            IPAddress? local = null, addr = null;
            uint flags = h.ifa_flags;
            var attrs = new NetlinkAttributes(payload[Marshal.SizeOf<ifaddrmsg>()..]);
            while (attrs.Next(out ushort t, out var v))
            {
                if (t == Rtnl.IFA_LOCAL) local = new IPAddress(v);
                else if (t == Rtnl.IFA_ADDRESS) addr = new IPAddress(v);
                else if (t == Rtnl.IFA_FLAGS) flags = NetlinkAttributes.U32(v);
            }
            // On point-to-point links IFA_ADDRESS is the peer's; IFA_LOCAL, when present, is ours.
            if ((local ?? addr) is { } a) list.Add(new LinkAddress(h.ifa_index, a, h.ifa_prefixlen, flags));
        });
        return list;
    }

    private NetlinkMessage AddressMessage(ushort type, ushort flags, string link, IPAddress address, int prefixLength, bool noDad)
    {
        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (prefixLength < 0 || prefixLength > max) throw new ArgumentOutOfRangeException(nameof(prefixLength), $"/{prefixLength} is not a prefix length for {address}");
        uint ifaFlags = noDad && address.AddressFamily == AddressFamily.InterNetworkV6 ? Rtnl.IFA_F_NODAD : 0;
        var m = new NetlinkMessage(type, flags).Append(new ifaddrmsg
        {
            ifa_family = Family(address.AddressFamily), ifa_prefixlen = (byte)prefixLength, ifa_flags = (byte)ifaFlags,
            ifa_scope = Rtnl.RT_SCOPE_UNIVERSE, ifa_index = IndexOf(link),
        });
        var bytes = address.GetAddressBytes();
        // IPv4 wants both: IFA_LOCAL is the interface's address, IFA_ADDRESS the prefix's (the same on non-p2p links).
        m.Attr(Rtnl.IFA_LOCAL, bytes).Attr(Rtnl.IFA_ADDRESS, bytes);
        if (ifaFlags != 0) m.U32(Rtnl.IFA_FLAGS, ifaFlags);
        return m;
    }

    private static byte Family(AddressFamily f) => f switch
    {
        AddressFamily.InterNetwork => 2,
        AddressFamily.InterNetworkV6 => 10,
        AddressFamily.Unspecified => 0,
        _ => throw new ArgumentException($"{f} is not an IP address family"),
    };
}
