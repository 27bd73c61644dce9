using System.Buffers.Binary;
using System.Net;
using Dataplane.Core.Drops;
using Dataplane.Core.Flows;
using Dataplane.Core.Identity;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;
using Flow;
using Google.Protobuf.WellKnownTypes;
using HubbleFlow = Flow.Flow;

namespace Dataplane.Host.Hubble;

/// <summary>
/// Builds Cilium's <c>flow.Flow</c> (api/cilium/flow/flow.proto) from a <see cref="FlowEvent"/> taken off a worker's
/// ring, resolving endpoints, identities, policies and interfaces against the snapshot in force. Runs off the
/// datapath (the exporter's thread); the JSON file, the Observer API and <c>observe</c> all carry what this builds.
/// </summary>
public sealed class FlowRecords(string clusterName, L7.L7Shared? l7 = null)
{
    // monitor API message types (pkg/monitor/api/types.go): 1 = drop, 4 = trace, 5 = policy verdict.
    private const int MessageTypeDrop = 1, MessageTypeTrace = 4, MessageTypePolicyVerdict = 5;

    /// <summary>Cilium's cluster name for flows and node names ("default" when the node is in no mesh).</summary>
    public string ClusterName { get; } = clusterName.Length > 0 ? clusterName : "default";

    private static readonly Emitter Self = new() { Name = "Dataplane", Version = Version };

    /// <summary>What <c>ServerStatus</c> and <c>GetNodes</c> report as the server's version.</summary>
    public static string Version => typeof(FlowRecords).Assembly.GetName().Version?.ToString() ?? "0";

    /// <summary>One <c>GetFlowsResponse</c> (the shape of a <c>hubble observe -o json</c> line).</summary>
    public Observer.GetFlowsResponse Response(in FlowEvent e, DatapathSnapshot snapshot)
    {
        var flow = Build(e, snapshot);
        return new Observer.GetFlowsResponse { Flow = flow, NodeName = flow.NodeName, Time = flow.Time };
    }

    public HubbleFlow Build(in FlowEvent e, DatapathSnapshot s)
    {
        bool audited = Core.Policy.PolicyAudit.IsAudited(e.Verdict, e.DropReason);
        bool dropped = e.Verdict == PacketVerdict.Drop;
        var f = new HubbleFlow
        {
            Time = new Timestamp { Seconds = Math.DivRem(e.TimeNanos, 1_000_000_000, out long nanos), Nanos = (int)nanos },
            Uuid = Uuid(e, s.NodeName),
            Emitter = Self,
            Verdict = dropped ? Verdict.Dropped : audited ? Verdict.Audit : Verdict.Forwarded,
            Type = FlowType.L3L4,
            NodeName = $"{ClusterName}/{s.NodeName}",
            TrafficDirection = e.Direction switch
            {
                Core.Packets.TrafficDirection.Ingress => global::Flow.TrafficDirection.Ingress,
                Core.Packets.TrafficDirection.Egress => global::Flow.TrafficDirection.Egress,
                _ => global::Flow.TrafficDirection.Unknown,
            },
            IsReply = e.CtState == CtState.Reply,
            EventType = new CiliumEventType
            {
                Type = dropped ? MessageTypeDrop : audited ? MessageTypePolicyVerdict : MessageTypeTrace,
                SubType = dropped ? (int)e.DropReason : 0,
            },
            TraceObservationPoint = dropped ? TraceObservationPoint.UnknownPoint : ObservationPoint(e, s),
        };
#pragma warning disable CS0612 // deprecated in the proto, still what hubble's compact output and older UIs read
        f.Summary = Summary(e);
#pragma warning restore CS0612
        if (dropped || audited)
        {
#pragma warning disable CS0612 // drop_reason is deprecated in the proto, but older hubble clients still read it
            f.DropReason = (uint)e.DropReason;
#pragma warning restore CS0612
            // Our codes are Cilium's (pinned by a test), so the enum value is the code itself.
            f.DropReasonDesc = (global::Flow.DropReason)(int)e.DropReason;
        }
        if (e.SrcMac != 0 || e.DstMac != 0)
            f.Ethernet = new Ethernet { Source = Mac(e.SrcMac), Destination = Mac(e.DstMac) };
        if (e.IpVersion != 0)
        {
            f.IP = new IP
            {
                Source = FormatIp(e.Src, e.IpVersion),
                Destination = FormatIp(e.Dst, e.IpVersion),
                IpVersion = e.IpVersion == 4 ? IPVersion.Ipv4 : IPVersion.Ipv6,
                Encrypted = e.Encrypted,
            };
            f.L4 = L4(e);
        }
        f.Source = Endpoint(e.SrcEndpoint, e.SrcIdentity, s);
        f.Destination = Endpoint(e.DstEndpoint, e.DstIdentity, s);
        AddPolicy(f, e.PolicyRule, egress: true, s);
        AddPolicy(f, e.IngressPolicyRule, egress: false, s);
        ushort port = e.Verdict == PacketVerdict.Tx ? e.OutPort : e.InPort;
        if (port < s.Ports.Length) f.Interface = new NetworkInterface { Index = port, Name = s.Ports[port].Name };
        if (e.L7Record != 0 && l7?.Record(e) is { } record) L7Proxy.Fill(f, record);
        return f;
    }

    /// <summary>Where the verdict was observed, in Cilium's terms: handed to a pod, to the wire, to the host's stack.</summary>
    private static TraceObservationPoint ObservationPoint(in FlowEvent e, DatapathSnapshot s) => e.Verdict switch
    {
        PacketVerdict.Local => TraceObservationPoint.ToStack,
        PacketVerdict.Tx when e.OutPort < s.Ports.Length && s.Ports[e.OutPort].Kind == PortKind.Endpoint => TraceObservationPoint.ToEndpoint,
        PacketVerdict.Tx when (e.Flags & PacketFlags.Vxlan) != 0 => TraceObservationPoint.ToOverlay,
        PacketVerdict.Tx => TraceObservationPoint.ToNetwork,
        _ => TraceObservationPoint.UnknownPoint,
    };

    private static Layer4? L4(in FlowEvent e)
    {
        if ((e.Flags & PacketFlags.LaterFragment) != 0) return null;
        switch (e.L4Proto)
        {
            case IpProtocols.Tcp:
                return new Layer4 { TCP = new TCP { SourcePort = e.SrcPort, DestinationPort = e.DstPort, Flags = TcpFlags(e.TcpFlags) } };
            case IpProtocols.Udp:
                return new Layer4 { UDP = new UDP { SourcePort = e.SrcPort, DestinationPort = e.DstPort } };
            case IpProtocols.Sctp:
                return new Layer4 { SCTP = new SCTP { SourcePort = e.SrcPort, DestinationPort = e.DstPort } };
            case IpProtocols.Icmp:
                return new Layer4 { ICMPv4 = new ICMPv4 { Type = e.IcmpType, Code = e.IcmpCode } };
            case IpProtocols.Icmpv6:
                return new Layer4 { ICMPv6 = new ICMPv6 { Type = e.IcmpType, Code = e.IcmpCode } };
            default:
                return null;
        }
    }

    private static TCPFlags TcpFlags(byte b) => new()
    {
        FIN = (b & TcpFlagBits.Fin) != 0, SYN = (b & TcpFlagBits.Syn) != 0, RST = (b & TcpFlagBits.Rst) != 0,
        PSH = (b & TcpFlagBits.Psh) != 0, ACK = (b & TcpFlagBits.Ack) != 0, URG = (b & TcpFlagBits.Urg) != 0,
        ECE = (b & TcpFlagBits.Ece) != 0, CWR = (b & TcpFlagBits.Cwr) != 0,
    };

    private Endpoint Endpoint(uint endpoint, uint identity, DatapathSnapshot s)
    {
        var result = new Endpoint { Identity = identity, ClusterName = ClusterName };
        var ep = endpoint != 0 && endpoint < s.Endpoints.Length ? s.Endpoints[endpoint] : null;
        var id = identity != 0 ? s.Policy.Identities.Get(identity) : null;
        if (ep != null) result.ID = ep.Id;
        string? ns = ep?.Namespace;
        if (ns == null && id != null && id.Labels.TryGet(Label.SourceK8s, IdentityLabels.NamespaceLabel, out var n)) ns = n;
        if (ns != null) result.Namespace = ns;
        if (id != null) result.Labels.AddRange(id.Labels.Labels.Select(l => l.ToString()));
        else if (ep != null) result.Labels.AddRange(PodLabels(ep));
        if (ep != null) result.PodName = ep.Name;
        // A remote identity has no endpoint here, and a cluster-scoped one (world, host) no cluster.
        if (ns == null) result.ClusterName = "";
        return result;
    }

    /// <summary>Cilium's egress/ingress_allowed_by and _denied_by lists: the rule that decided each side.</summary>
    private static void AddPolicy(HubbleFlow f, uint ruleId, bool egress, DatapathSnapshot s)
    {
        var rules = s.Policy.Rules;
        if (ruleId == 0 || ruleId >= rules.Length || rules[ruleId] is not { } rule) return;
        var p = new Policy { Name = rule.Name, Namespace = rule.Namespace, Revision = (ulong)s.Generation };
        p.Labels.AddRange(rule.Labels);
        (egress ? rule.Deny ? f.EgressDeniedBy : f.EgressAllowedBy : rule.Deny ? f.IngressDeniedBy : f.IngressAllowedBy).Add(p);
    }

    /// <summary>Cilium's label strings for a pod: k8s-sourced labels plus the namespace label, sorted.</summary>
    public static IEnumerable<string> PodLabels(EndpointInfo ep) =>
        ep.Labels.Select(kv => $"k8s:{kv.Key}={kv.Value}")
            .Append($"k8s:io.kubernetes.pod.namespace={ep.Namespace}")
            .Order(StringComparer.Ordinal);

    public static string FormatIp(UInt128 a, byte version)
    {
        if (version == 4) return new IPAddress(BinaryPrimitives.ReverseEndianness((uint)a)).ToString();
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, a);
        return new IPAddress(b).ToString();
    }

    /// <summary>
    /// A UUID (version 8, RFC 9562: vendor-specific) hashed from the event and the node: unique per flow as Hubble's
    /// random ones are (a worker's sequence and the receive time in nanoseconds never repeat together), yet the
    /// same for the same input, so a replay of one capture writes the same file twice.
    /// </summary>
    private static string Uuid(in FlowEvent e, string node)
    {
        Span<byte> key = stackalloc byte[System.Runtime.CompilerServices.Unsafe.SizeOf<FlowEvent>() + 64];
        System.Runtime.InteropServices.MemoryMarshal.Write(key, in e);
        int n = System.Runtime.CompilerServices.Unsafe.SizeOf<FlowEvent>();
        n += System.Text.Encoding.UTF8.GetBytes(node.AsSpan(0, Math.Min(node.Length, 16)), key[n..]);
        Span<byte> h = stackalloc byte[16];
        System.IO.Hashing.XxHash128.Hash(key[..n], h);
        h[6] = (byte)((h[6] & 0x0f) | 0x80);
        h[8] = (byte)((h[8] & 0x3f) | 0x80);
        return new Guid(h, bigEndian: true).ToString();
    }

    private static string Mac(ulong m) =>
        $"{(byte)(m >> 40):x2}:{(byte)(m >> 32):x2}:{(byte)(m >> 24):x2}:{(byte)(m >> 16):x2}:{(byte)(m >> 8):x2}:{(byte)m:x2}";

    private static string Summary(in FlowEvent e)
    {
        if (e.IpVersion == 0) return (e.Flags & PacketFlags.Arp) != 0 ? "ARP" : $"ethertype 0x{e.EtherType:x4}";
        string proto = e.L4Proto switch
        {
            IpProtocols.Tcp => "TCP", IpProtocols.Udp => "UDP", IpProtocols.Icmp => "ICMPv4",
            IpProtocols.Icmpv6 => "ICMPv6", IpProtocols.Sctp => "SCTP", _ => $"IP proto {e.L4Proto}",
        };
        return $"{proto} {FormatIp(e.Src, e.IpVersion)} -> {FormatIp(e.Dst, e.IpVersion)}";
    }
}
