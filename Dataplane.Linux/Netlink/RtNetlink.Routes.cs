using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Dataplane.Linux.Interop;

namespace Dataplane.Linux.Netlink;

/// <summary>
/// A unicast route: <see cref="Destination"/> (0.0.0.0/0 or ::/0 for the default route), via <see cref="Gateway"/>
/// (null: directly connected) out of link <see cref="LinkIndex"/> (0: the kernel picks it from the gateway).
/// <see cref="OnLink"/>: the gateway is reachable on the link even though no address of the link covers it.
/// </summary>
public sealed record Route(IPNetwork Destination, IPAddress? Gateway, int LinkIndex, bool OnLink = false, uint Metric = 0, int Table = Rtnl.RT_TABLE_MAIN)
{
    public bool IsDefault => Destination.PrefixLength == 0;
}

public sealed partial class RtNetlink
{
    /// <summary>Adds a route (<paramref name="replace"/>: or replaces the one to the same destination, like `ip route replace`).</summary>
    public void AddRoute(IPNetwork destination, IPAddress? gateway, string? link, bool onLink = false, bool replace = false, uint metric = 0)
    {
        var r = new Route(destination, gateway, link is null ? 0 : IndexOf(link), onLink, metric);
        ushort flags = (ushort)(Rtnl.NLM_F_ACK | Rtnl.NLM_F_CREATE | (replace ? Rtnl.NLM_F_REPLACE : Rtnl.NLM_F_EXCL));
        _socket.Ack(RouteMessage(Rtnl.RTM_NEWROUTE, flags, r), $"{(replace ? "replace" : "add")} route {Describe(r, link)}");
    }

    /// <summary>Deletes a route matching destination (and gateway and link when given); false when there was none.</summary>
    public bool DeleteRoute(IPNetwork destination, IPAddress? gateway = null, string? link = null)
    {
        var r = new Route(destination, gateway, link is null ? 0 : IndexOf(link));
        try { _socket.Ack(RouteMessage(Rtnl.RTM_DELROUTE, Rtnl.NLM_F_ACK, r), $"delete route {Describe(r, link)}"); return true; }
        catch (NetlinkException e) when (e.IsNotFound) { return false; }
    }

    /// <summary>The unicast routes of the main table for one family.</summary>
    public List<Route> Routes(AddressFamily family)
    {
        var list = new List<Route>();
        var m = new NetlinkMessage(Rtnl.RTM_GETROUTE, Rtnl.NLM_F_DUMP).Append(new rtmsg { rtm_family = Family(family) });
        _socket.Dump(m, $"list {family} routes", (type, payload) =>
        {
            if (type != Rtnl.RTM_NEWROUTE) return;
            var h = MemoryMarshal.Read<rtmsg>(payload);
            if (h.rtm_type != Rtnl.RTN_UNICAST) return;
            int table = h.rtm_table;
            IPAddress? dst = null, gw = null;
            int oif = 0;
            uint metric = 0;
            var attrs = new NetlinkAttributes(payload[Marshal.SizeOf<rtmsg>()..]);
            while (attrs.Next(out ushort t, out var v))
            {
                switch (t)
                {
                    case Rtnl.RTA_DST: dst = new IPAddress(v); break;
                    case Rtnl.RTA_GATEWAY: gw = new IPAddress(v); break;
                    case Rtnl.RTA_OIF: oif = (int)NetlinkAttributes.U32(v); break;
                    case Rtnl.RTA_PRIORITY: metric = NetlinkAttributes.U32(v); break;
                    case Rtnl.RTA_TABLE: table = (int)NetlinkAttributes.U32(v); break;
                }
            }
            if (table != Rtnl.RT_TABLE_MAIN) return;
            dst ??= family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any;
            list.Add(new Route(new IPNetwork(dst, h.rtm_dst_len), gw, oif, (h.rtm_flags & Rtnl.RTNH_F_ONLINK) != 0, metric, table));
        });
        return list;
    }

    private static NetlinkMessage RouteMessage(ushort type, ushort flags, Route r)
    {
        var family = r.Destination.BaseAddress.AddressFamily;
        if (r.Gateway is { } g && g.AddressFamily != family)
            throw new ArgumentException($"gateway {g} is not of the family of {r.Destination}");
        var m = new NetlinkMessage(type, flags).Append(new rtmsg
        {
            rtm_family = Family(family), rtm_dst_len = (byte)r.Destination.PrefixLength,
            rtm_table = (byte)r.Table, rtm_protocol = Rtnl.RTPROT_BOOT, rtm_type = Rtnl.RTN_UNICAST,
            // A route without a gateway reaches its destination on the link itself.
            rtm_scope = r.Gateway is null && type == Rtnl.RTM_NEWROUTE ? Rtnl.RT_SCOPE_LINK : Rtnl.RT_SCOPE_UNIVERSE,
            rtm_flags = r.OnLink ? Rtnl.RTNH_F_ONLINK : 0,
        });
        if (r.Destination.PrefixLength > 0) m.Attr(Rtnl.RTA_DST, r.Destination.BaseAddress.GetAddressBytes());
        if (r.Gateway is { } gw) m.Attr(Rtnl.RTA_GATEWAY, gw.GetAddressBytes());
        if (r.LinkIndex != 0) m.I32(Rtnl.RTA_OIF, r.LinkIndex);
        if (r.Metric != 0) m.U32(Rtnl.RTA_PRIORITY, r.Metric);
        return m;
    }

    private static string Describe(Route r, string? link) =>
        $"{(r.IsDefault ? "default" : r.Destination.ToString())}{(r.Gateway is null ? "" : $" via {r.Gateway}")}{(link is null ? "" : $" dev {link}")}{(r.OnLink ? " onlink" : "")}";
}
