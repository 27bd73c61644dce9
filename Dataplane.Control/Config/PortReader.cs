using System.Collections.Immutable;
using System.Globalization;
using Dataplane.Core.Parsing;
using Dataplane.Core.Policy;

namespace Dataplane.Control.Config;

/// <summary>One toPorts/ports entry (port, endPort, protocol) → policy map port ranges.</summary>
internal static class PortReader
{
    public static void Read(YNode port, string protoText, ImmutableArray<PortProto>.Builder into)
    {
        port.AllowOnly("port", "endPort", "protocol");
        ushort lo = 0;
        string? name = null;
        if (port.TryGet("port", out var pn))
        {
            var text = pn.String();
            if (!ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out lo))
            {
                if (!ServiceParser.IsPortName(text))
                    throw pn.Error($"invalid port '{text}' (expected 0..65535 or a port name: lowercase letters, digits, '-', at most 15)");
                if (protoText is "ICMP" or "ICMPv6") throw pn.Error($"named port '{text}' needs a port protocol, not {protoText}");
                name = text;
            }
        }
        if (name is not null)
        {
            if (port.TryGet("endPort", out var nep) && nep.Int(0, 65535) != 0) throw nep.Error("endPort needs a numeric port");
            foreach (byte proto in Protocols(port, protoText))
                into.Add(new PortProto(proto, 0, 0, name));
            return;
        }
        ushort hi = lo == 0 ? ushort.MaxValue : lo;
        if (port.TryGet("endPort", out var ep))
        {
            int end = ep.Int(0, 65535);
            if (end != 0)
            {
                if (lo == 0) throw ep.Error("endPort needs a port");
                if (end < lo) throw ep.Error($"endPort {end} is below port {lo}");
                hi = (ushort)end;
            }
        }
        foreach (byte proto in Protocols(port, protoText))
        {
            // For ICMP the "port" is the type: a wildcard range stops at 255.
            bool icmp = proto is IpProtocols.Icmp or IpProtocols.Icmpv6;
            into.Add(new PortProto(proto, lo, icmp && hi == ushort.MaxValue ? (ushort)255 : hi));
        }
    }

    private static readonly byte[] Tcp = [IpProtocols.Tcp], Udp = [IpProtocols.Udp], Sctp = [IpProtocols.Sctp],
        Icmp = [IpProtocols.Icmp], Icmpv6 = [IpProtocols.Icmpv6],
        // Cilium expands ANY to the port-carrying protocols (TCP, UDP, SCTP), not to ICMP.
        Any = [IpProtocols.Tcp, IpProtocols.Udp, IpProtocols.Sctp];

    private static byte[] Protocols(YNode port, string protoText) => protoText switch
    {
        "TCP" => Tcp, "UDP" => Udp, "SCTP" => Sctp, "ICMP" => Icmp, "ICMPv6" => Icmpv6, "ANY" => Any,
        _ => throw port.Get("protocol").Error($"unknown protocol '{protoText}' (expected TCP, UDP, SCTP, ICMP, ICMPv6 or ANY)"),
    };
}
