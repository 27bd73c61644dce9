using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using Dataplane.Core.Drops;
using Dataplane.Core.Identity;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Flows;

/// <summary>
/// Formats a <see cref="FlowEvent"/> as one line of <c>hubble observe -o json</c>: <c>{"flow":{…}}</c> with the
/// proto field names of Cilium's flow.proto (verdict, drop_reason_desc, IP, l4, source, destination, Type,
/// node_name, traffic_direction, is_reply, interface, event_type). Runs off the datapath.
/// </summary>
public static class HubbleJson
{
    // monitor API message types (pkg/monitor/api/types.go): 1 = drop, 4 = trace, 5 = policy verdict.
    // 129 = access log (an L7 record from the proxy).
    private const int MessageTypeDrop = 1, MessageTypeTrace = 4, MessageTypePolicyVerdict = 5, MessageTypeAccessLog = 129;

    public static void Write(Utf8JsonWriter w, in FlowEvent e, DatapathSnapshot snapshot)
    {
        w.WriteStartObject();
        w.WriteStartObject("flow");
        var time = DateTimeOffset.UnixEpoch.AddTicks(e.TimeNanos / 100).UtcDateTime;
        w.WriteString("time", time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'"));
        // AUDIT: policy audit mode let through what policy would drop; drop_reason_desc says which drop.
        bool audited = Policy.PolicyAudit.IsAudited(e.Verdict, e.DropReason);
        w.WriteString("verdict", e.Verdict == PacketVerdict.Drop ? "DROPPED" : audited ? "AUDIT" : "FORWARDED");
        if ((e.Verdict == PacketVerdict.Drop || audited) && e.L7 is null)
        {
            w.WriteNumber("drop_reason", (int)e.DropReason);
            w.WriteString("drop_reason_desc", DropReasonNames.Describe(e.DropReason));
        }
        if (e.IpVersion != 0)
        {
            w.WriteStartObject("IP");
            w.WriteString("source", Format(e.Src, e.IpVersion));
            w.WriteString("destination", Format(e.Dst, e.IpVersion));
            w.WriteString("ipVersion", e.IpVersion == 4 ? "IPv4" : "IPv6");
            w.WriteEndObject();
            WriteL4(w, e);
        }
        WriteEndpoint(w, "source", e.SrcEndpoint, e.SrcIdentity, snapshot);
        WriteEndpoint(w, "destination", e.DstEndpoint, e.DstIdentity, snapshot);
        WritePolicies(w, e, snapshot);
        w.WriteString("Type", e.L7 is null ? "L3_L4" : "L7");
        w.WriteString("node_name", snapshot.NodeName);
        w.WriteStartObject("event_type");
        if (e.L7 is not null) w.WriteNumber("type", MessageTypeAccessLog);
        else
        {
            w.WriteNumber("type", e.Verdict == PacketVerdict.Drop ? MessageTypeDrop : audited ? MessageTypePolicyVerdict : MessageTypeTrace);
            if (e.Verdict == PacketVerdict.Drop) w.WriteNumber("sub_type", (int)e.DropReason);
        }
        w.WriteEndObject();
        if (e.L7 is { } l7) WriteL7(w, l7);
        w.WriteString("traffic_direction", e.Direction switch
        {
            TrafficDirection.Ingress => "INGRESS",
            TrafficDirection.Egress => "EGRESS",
            _ => "TRAFFIC_DIRECTION_UNKNOWN",
        });
        w.WriteBoolean("is_reply", e.CtState == CtState.Reply);
        ushort port = e.Verdict == PacketVerdict.Tx ? e.OutPort : e.InPort;
        if (port < snapshot.Ports.Length)
        {
            w.WriteStartObject("interface");
            w.WriteNumber("index", port);
            w.WriteString("name", snapshot.Ports[port].Name);
            w.WriteEndObject();
        }
        w.WriteString("Summary", Summary(e));
        w.WriteEndObject();
        w.WriteString("node_name", snapshot.NodeName);
        w.WriteString("time", time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'"));
        w.WriteEndObject();
    }

    /// <summary>flow.proto's Layer7 {type, latency_ns, http {code, method, url, protocol}} (uint64 as a JSON string).</summary>
    private static void WriteL7(Utf8JsonWriter w, L7Flow l7)
    {
        w.WriteStartObject("l7");
        w.WriteString("type", l7.Type.ToString().ToUpperInvariant());
        w.WriteString("latency_ns", l7.LatencyNanos.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteStartObject("http");
        if (l7.Code != 0) w.WriteNumber("code", l7.Code);
        w.WriteString("method", l7.Method);
        w.WriteString("url", l7.Url);
        w.WriteString("protocol", l7.Protocol);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteL4(Utf8JsonWriter w, in FlowEvent e)
    {
        if ((e.Flags & PacketFlags.LaterFragment) != 0) return;
        switch (e.L4Proto)
        {
            case IpProtocols.Tcp:
                w.WriteStartObject("l4"); w.WriteStartObject("TCP");
                w.WriteNumber("source_port", e.SrcPort); w.WriteNumber("destination_port", e.DstPort);
                w.WriteStartObject("flags");
                if ((e.TcpFlags & TcpFlagBits.Fin) != 0) w.WriteBoolean("FIN", true);
                if ((e.TcpFlags & TcpFlagBits.Syn) != 0) w.WriteBoolean("SYN", true);
                if ((e.TcpFlags & TcpFlagBits.Rst) != 0) w.WriteBoolean("RST", true);
                if ((e.TcpFlags & TcpFlagBits.Psh) != 0) w.WriteBoolean("PSH", true);
                if ((e.TcpFlags & TcpFlagBits.Ack) != 0) w.WriteBoolean("ACK", true);
                if ((e.TcpFlags & TcpFlagBits.Urg) != 0) w.WriteBoolean("URG", true);
                if ((e.TcpFlags & TcpFlagBits.Ece) != 0) w.WriteBoolean("ECE", true);
                if ((e.TcpFlags & TcpFlagBits.Cwr) != 0) w.WriteBoolean("CWR", true);
                w.WriteEndObject(); w.WriteEndObject(); w.WriteEndObject();
                break;
            case IpProtocols.Udp:
            case IpProtocols.Sctp:
                w.WriteStartObject("l4"); w.WriteStartObject(e.L4Proto == IpProtocols.Udp ? "UDP" : "SCTP");
                w.WriteNumber("source_port", e.SrcPort); w.WriteNumber("destination_port", e.DstPort);
                w.WriteEndObject(); w.WriteEndObject();
                break;
            case IpProtocols.Icmp:
            case IpProtocols.Icmpv6:
                w.WriteStartObject("l4"); w.WriteStartObject(e.L4Proto == IpProtocols.Icmp ? "ICMPv4" : "ICMPv6");
                w.WriteNumber("type", e.IcmpType); w.WriteNumber("code", e.IcmpCode);
                w.WriteEndObject(); w.WriteEndObject();
                break;
        }
    }

    private static void WriteEndpoint(Utf8JsonWriter w, string name, uint endpoint, uint identity, DatapathSnapshot s)
    {
        w.WriteStartObject(name);
        var ep = endpoint != 0 && endpoint < s.Endpoints.Length ? s.Endpoints[endpoint] : null;
        var id = identity != 0 ? s.Policy.Identities.Get(identity) : null;
        if (ep != null) w.WriteNumber("ID", ep.Id);
        if (identity != 0) w.WriteNumber("identity", identity);
        string? ns = ep?.Namespace;
        if (ns == null && id != null && id.Labels.TryGet(Label.SourceK8s, IdentityLabels.NamespaceLabel, out var n)) ns = n;
        if (ns != null) w.WriteString("namespace", ns);
        if (id != null || ep != null)
        {
            w.WriteStartArray("labels");
            foreach (var label in id != null ? id.Labels.Labels.Select(l => l.ToString()) : PodLabels(ep!))
                w.WriteStringValue(label);
            w.WriteEndArray();
        }
        if (ep != null) w.WriteString("pod_name", ep.Name);
        w.WriteEndObject();
    }

    /// <summary>Cilium's egress/ingress_allowed_by and _denied_by lists: the rule that decided each side.</summary>
    private static void WritePolicies(Utf8JsonWriter w, in FlowEvent e, DatapathSnapshot s)
    {
        WritePolicy(w, e.PolicyRule, "egress", s);
        WritePolicy(w, e.IngressPolicyRule, "ingress", s);
    }

    private static void WritePolicy(Utf8JsonWriter w, uint ruleId, string direction, DatapathSnapshot s)
    {
        var rules = s.Policy.Rules;
        if (ruleId == 0 || ruleId >= rules.Length || rules[ruleId] is not { } rule) return;
        w.WriteStartArray(direction + (rule.Deny ? "_denied_by" : "_allowed_by"));
        w.WriteStartObject();
        w.WriteString("name", rule.Name);
        w.WriteString("namespace", rule.Namespace);
        w.WriteStartArray("labels");
        foreach (var l in rule.Labels) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteNumber("revision", s.Generation);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    /// <summary>Cilium's label strings for a pod: k8s-sourced labels plus the namespace label, sorted.</summary>
    public static IEnumerable<string> PodLabels(EndpointInfo ep) =>
        ep.Labels.Select(kv => $"k8s:{kv.Key}={kv.Value}")
            .Append($"k8s:io.kubernetes.pod.namespace={ep.Namespace}")
            .Order(StringComparer.Ordinal);

    public static string Format(UInt128 a, byte version)
    {
        if (version == 4) return new IPAddress(BinaryPrimitives.ReverseEndianness((uint)a)).ToString();
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, a);
        return new IPAddress(b).ToString();
    }

    private static string Summary(in FlowEvent e)
    {
        if (e.L7 is { } l7)
            return l7.Type == L7FlowType.Response
                ? $"{l7.Protocol} {l7.Code} {l7.LatencyNanos / 1_000_000}ms ({l7.Method} {l7.Url})"
                : $"{l7.Protocol} {l7.Method} {l7.Url}";
        string proto = e.L4Proto switch
        {
            IpProtocols.Tcp => "TCP", IpProtocols.Udp => "UDP", IpProtocols.Icmp => "ICMPv4",
            IpProtocols.Icmpv6 => "ICMPv6", IpProtocols.Sctp => "SCTP", _ => e.IpVersion == 0 ? "L2" : $"IP proto {e.L4Proto}",
        };
        if (e.IpVersion == 0) return (e.Flags & PacketFlags.Arp) != 0 ? "ARP" : $"ethertype 0x{e.EtherType:x4}";
        return $"{proto} {Format(e.Src, e.IpVersion)} -> {Format(e.Dst, e.IpVersion)}";
    }
}
