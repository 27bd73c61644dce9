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
            foreach (byte proto in protoText switch
                     {
                         "TCP" => [IpProtocols.Tcp], "UDP" => [IpProtocols.Udp], "SCTP" => [IpProtocols.Sctp],
                         "ANY" => new[] { IpProtocols.Tcp, IpProtocols.Udp, IpProtocols.Sctp },
                         _ => throw port.Get("protocol").Error($"unknown protocol '{protoText}' (expected TCP, UDP, SCTP, ICMP, ICMPv6 or ANY)"),
                     })
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
        switch (protoText)
        {
            case "TCP": into.Add(new PortProto(IpProtocols.Tcp, lo, hi)); break;
            case "UDP": into.Add(new PortProto(IpProtocols.Udp, lo, hi)); break;
            case "SCTP": into.Add(new PortProto(IpProtocols.Sctp, lo, hi)); break;
            case "ICMP": into.Add(new PortProto(IpProtocols.Icmp, lo, hi == ushort.MaxValue ? (ushort)255 : hi)); break;
            case "ICMPv6": into.Add(new PortProto(IpProtocols.Icmpv6, lo, hi == ushort.MaxValue ? (ushort)255 : hi)); break;
            case "ANY":
                // Cilium expands ANY to the port-carrying protocols (TCP, UDP, SCTP), not to ICMP.
                into.Add(new PortProto(IpProtocols.Tcp, lo, hi));
                into.Add(new PortProto(IpProtocols.Udp, lo, hi));
                into.Add(new PortProto(IpProtocols.Sctp, lo, hi));
                break;
            default:
                throw port.Get("protocol").Error($"unknown protocol '{protoText}' (expected TCP, UDP, SCTP, ICMP, ICMPv6 or ANY)");
        }
    }

}
