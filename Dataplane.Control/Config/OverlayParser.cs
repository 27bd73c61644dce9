using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.Core.Overlay;

namespace Dataplane.Control.Config;

/// <summary>
/// Reads DataplaneNode <c>spec.overlay</c> and the <c>dataplane.io/*</c> tunnel annotations of v1 Nodes.
/// Everything checkable inside the document is checked here; rules across objects are in <see cref="OverlayValidator"/>.
/// </summary>
internal static class OverlayParser
{
    public static OverlaySpec Parse(YNode o, ImmutableArray<InterfaceSpec> interfaces)
    {
        o.AllowOnly("mode", "vxlanPort", "underlay", "source4", "source6", "locators", "sids", "peers");
        var mode = o.TryGet("mode", out var m) ? Mode(m) : TunnelMode.Native;
        ushort port = o.TryGet("vxlanPort", out var vp) ? (ushort)vp.Int(1, 65535) : OverlaySpec.CiliumVxlanPort;
        bool underlay6 = false;
        if (o.TryGet("underlay", out var u))
            underlay6 = u.String() switch
            {
                "ipv4" => false, "ipv6" => true,
                var x => throw u.Error($"must be ipv4 or ipv6, got '{x}'"),
            };
        var source4 = o.TryGet("source4", out var s4) ? Source(s4, AddressFamily.InterNetwork, interfaces) : null;
        var source6 = o.TryGet("source6", out var s6) ? Source(s6, AddressFamily.InterNetworkV6, interfaces) : null;

        var locators = ImmutableArray.CreateBuilder<IPNetwork>();
        if (o.TryGet("locators", out var ls))
            foreach (var l in ls.Items())
            {
                var c = l.Cidr();
                if (c.BaseAddress.AddressFamily != AddressFamily.InterNetworkV6) throw l.Error($"locator {c} must be IPv6");
                locators.Add(c);
            }

        var sids = ImmutableArray.CreateBuilder<LocalSidSpec>();
        if (o.TryGet("sids", out var ss))
            foreach (var s in ss.Items())
            {
                s.AllowOnly("sid", "behavior", "nexthop");
                var sidNode = s.Get("sid");
                var sid = Ipv6(sidNode);
                if (sids.Any(x => x.Sid.Equals(sid))) throw sidNode.Error($"duplicate SID {sid}");
                var bNode = s.Get("behavior");
                var behavior = bNode.String() switch
                {
                    "End" => Srv6Behavior.End, "End.X" => Srv6Behavior.EndX, "End.DT4" => Srv6Behavior.EndDT4,
                    "End.DT6" => Srv6Behavior.EndDT6, "End.DT46" => Srv6Behavior.EndDT46,
                    var x => throw bNode.Error($"unsupported behavior '{x}' (expected End, End.X, End.DT4, End.DT6 or End.DT46)"),
                };
                IPAddress? nh = null;
                if (s.TryGet("nexthop", out var nhNode))
                {
                    if (behavior != Srv6Behavior.EndX) throw nhNode.Error("only End.X takes a nexthop");
                    nh = Ipv6(nhNode);
                }
                else if (behavior == Srv6Behavior.EndX) throw s.Error("End.X needs 'nexthop' (its IPv6 adjacency)");
                sids.Add(new LocalSidSpec(sid, behavior, nh, s.At));
            }

        var peers = ImmutableArray.CreateBuilder<TunnelPeerSpec>();
        if (o.TryGet("peers", out var ps))
            foreach (var p in ps.Items()) peers.Add(Peer(p));
        return new OverlaySpec(mode, port, underlay6, source4, source6, locators.ToImmutable(), sids.ToImmutable(),
            peers.ToImmutable(), o.At);
    }

    private static TunnelPeerSpec Peer(YNode p)
    {
        p.AllowOnly("node", "endpoint", "mode", "vni", "innerMac", "segments", "sid4", "sid6", "reduced", "prefixes");
        string? node = p.OptString("node");
        IPAddress? endpoint = p.TryGet("endpoint", out var e) ? e.Ip() : null;
        if ((node is null) == (endpoint is null)) throw p.Error("exactly one of 'node' or 'endpoint' is required");
        TunnelMode? mode = p.TryGet("mode", out var m) ? Mode(m) : null;
        if (endpoint is not null && mode is null) throw p.Error("a peer given by 'endpoint' needs 'mode' (vxlan or srv6)");
        if (mode == TunnelMode.Native && endpoint is not null) throw m.Error("an 'endpoint' peer must be vxlan or srv6");
        uint vni = p.TryGet("vni", out var v) ? (uint)v.Int(1, (1 << 24) - 1) : 0;
        MacAddress? mac = p.TryGet("innerMac", out var im) ? im.Mac() : null;
        var segments = ImmutableArray.CreateBuilder<IPAddress>();
        if (p.TryGet("segments", out var ss)) foreach (var s in ss.Items()) segments.Add(Ipv6(s));
        IPAddress? sid4 = p.TryGet("sid4", out var a) ? Ipv6(a) : null;
        IPAddress? sid6 = p.TryGet("sid6", out var b) ? Ipv6(b) : null;
        bool reduced = p.TryGet("reduced", out var r) && r.String() switch
        {
            "true" => true, "false" => false,
            var x => throw r.Error($"must be true or false, got '{x}'"),
        };
        if (endpoint is not null && mode == TunnelMode.Vxlan && mac is null)
            throw p.Error("a VXLAN 'endpoint' peer needs 'innerMac' (the MAC of its VXLAN device)");
        if (mode == TunnelMode.Srv6 && endpoint is not null && sid4 is null && sid6 is null)
            throw p.Error("an SRv6 peer needs 'sid4' and/or 'sid6' (its End.DT4/DT6/DT46 SIDs)");
        var prefixes = ImmutableArray.CreateBuilder<IPNetwork>();
        if (p.TryGet("prefixes", out var pf)) foreach (var x in pf.Items()) prefixes.Add(x.Cidr());
        if (endpoint is not null && prefixes.Count == 0) throw p.Error("an 'endpoint' peer needs 'prefixes' (what is behind it)");
        return new TunnelPeerSpec(node, endpoint, mode, vni, mac, segments.ToImmutable(), sid4, sid6, reduced,
            prefixes.ToImmutable(), p.At);
    }

    /// <summary>A Node's <c>dataplane.io/*</c> tunnel annotations, each checked at its own position.</summary>
    public static NodeTunnelSpec? NodeAnnotations(ConfigDocument doc)
    {
        if (!doc.Metadata.TryGet("annotations", out var ann)) return null;
        TunnelMode? mode = null; IPAddress? sid4 = null, sid6 = null; MacAddress? mac = null;
        foreach (var (k, v) in ann.Entries())
        {
            switch (k.String())
            {
                case "dataplane.io/tunnel": mode = Mode(v); break;
                case "dataplane.io/srv6-sid4": sid4 = Ipv6(v); break;
                case "dataplane.io/srv6-sid6": sid6 = Ipv6(v); break;
                case "dataplane.io/vxlan-mac": mac = v.Mac(); break;
            }
        }
        return mode is null && sid4 is null && sid6 is null && mac is null ? null : new NodeTunnelSpec(mode, sid4, sid6, mac);
    }

    private static TunnelMode Mode(YNode m) => m.String() switch
    {
        "native" => TunnelMode.Native, "vxlan" => TunnelMode.Vxlan, "srv6" => TunnelMode.Srv6,
        var x => throw m.Error($"must be native, vxlan or srv6, got '{x}'"),
    };

    private static IPAddress Ipv6(YNode n)
    {
        var ip = n.Ip();
        return ip.AddressFamily == AddressFamily.InterNetworkV6 ? ip : throw n.Error($"{ip} is not an IPv6 address (SIDs are IPv6)");
    }

    private static IPAddress Source(YNode n, AddressFamily family, ImmutableArray<InterfaceSpec> interfaces)
    {
        var ip = n.Ip();
        if (ip.AddressFamily != family) throw n.Error($"{ip} is not an {(family == AddressFamily.InterNetwork ? "IPv4" : "IPv6")} address");
        if (!interfaces.Any(i => i.Addresses.Any(a => a.Address.Equals(ip))))
            throw n.Error($"{ip} is not an address of any interface of this node");
        return ip;
    }
}
