using Flow;
using Prometheus;

namespace Dataplane.Host.Hubble;

/// <summary>
/// Hubble's flow metrics, counted from the flows the exporter builds (off the datapath), beside Cilium's in the
/// agent's registry: <c>hubble_flows_processed_total{type,subtype,verdict}</c> (type Trace, Drop, PolicyVerdict,
/// L7; subtype the observation point, or the L7 protocol), <c>hubble_drop_total{reason,protocol}</c>,
/// <c>hubble_tcp_flags_total{flag,family}</c> and <c>hubble_port_distribution_total{protocol,port}</c> (destination
/// ports of flows that are not replies), with Hubble's metric and label names so its dashboards work unchanged.
/// </summary>
public sealed class HubbleMetrics
{
    private readonly Counter _flows, _drops, _tcpFlags, _ports;

    public HubbleMetrics(CollectorRegistry registry)
    {
        var f = Metrics.WithCustomRegistry(registry);
        _flows = f.CreateCounter("hubble_flows_processed_total", "Total number of flows processed", new CounterConfiguration { LabelNames = ["type", "subtype", "verdict"] });
        _drops = f.CreateCounter("hubble_drop_total", "Number of drops", new CounterConfiguration { LabelNames = ["reason", "protocol"] });
        _tcpFlags = f.CreateCounter("hubble_tcp_flags_total", "TCP flag occurrences", new CounterConfiguration { LabelNames = ["flag", "family"] });
        _ports = f.CreateCounter("hubble_port_distribution_total", "Numbers of packets distributed by destination port", new CounterConfiguration { LabelNames = ["protocol", "port"] });
    }

    /// <summary>Counts one flow (called on the exporter's thread).</summary>
    public void Count(Flow.Flow f)
    {
        string type = f.L7 is not null ? "L7" : f.EventType?.Type switch { 1 => "Drop", 5 => "PolicyVerdict", _ => "Trace" };
        string subtype = f.L7 is { Http: not null } ? "HTTP" : f.L7 is { Dns: not null } ? "DNS"
            : type == "Trace" ? ObservationPoint(f.TraceObservationPoint) : "";
        _flows.WithLabels(type, subtype, f.Verdict.OriginalName()).Inc();
        string protocol = Protocol(f);
        if (f.Verdict == Verdict.Dropped) _drops.WithLabels(f.DropReasonDesc.OriginalName(), protocol).Inc();
        if (f.L4?.TCP is { Flags: { } flags } && f.IP is { } ip)
        {
            string family = ip.IpVersion == IPVersion.Ipv6 ? "IPv6" : "IPv4";
            if (flags.SYN) _tcpFlags.WithLabels(flags.ACK ? "SYN-ACK" : "SYN", family).Inc();
            if (flags.FIN) _tcpFlags.WithLabels("FIN", family).Inc();
            if (flags.RST) _tcpFlags.WithLabels("RST", family).Inc();
        }
        if (f.IsReply != true)
        {
            uint port = f.L4 switch { { TCP: { } t } => t.DestinationPort, { UDP: { } u } => u.DestinationPort, { SCTP: { } s } => s.DestinationPort, _ => 0 };
            if (port != 0) _ports.WithLabels(protocol, port.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        }
    }

    private static string Protocol(Flow.Flow f) => f.L4 switch
    {
        { TCP: not null } => "TCP", { UDP: not null } => "UDP", { SCTP: not null } => "SCTP",
        { ICMPv4: not null } => "ICMPv4", { ICMPv6: not null } => "ICMPv6", _ => "",
    };

    /// <summary>Hubble's subtype names: TO_ENDPOINT → to-endpoint.</summary>
    private static string ObservationPoint(TraceObservationPoint p) =>
        p == TraceObservationPoint.UnknownPoint ? "" : p.OriginalName().ToLowerInvariant().Replace('_', '-');
}
