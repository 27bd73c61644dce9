using System.Net;
using Flow;
using Grpc.Core;
using HubbleFlow = Flow.Flow;

namespace Dataplane.Host.Hubble;

/// <summary>
/// Hubble's filter semantics for <c>GetFlows</c>: a flow is returned when it matches at least one whitelist filter
/// (or there is none) and no blacklist filter. Within a <see cref="FlowFilter"/> every field that is set must
/// match (AND); within a field any of its values may (OR). Fields name what the flow carries: a filter on
/// something this agent never fills (an FQDN, a workload) matches no flow, as it would on a Cilium node that saw
/// no such flow. A filter the server cannot evaluate at all (CEL expressions) is refused, never ignored.
/// </summary>
public sealed class FlowFilters
{
    private readonly Func<HubbleFlow, bool>[] _white, _black;

    private FlowFilters(Func<HubbleFlow, bool>[] white, Func<HubbleFlow, bool>[] black)
    {
        _white = white;
        _black = black;
    }

    /// <summary>Compiles the lists; a malformed value is an <see cref="RpcException"/> with InvalidArgument.</summary>
    public static FlowFilters Compile(IEnumerable<FlowFilter> whitelist, IEnumerable<FlowFilter> blacklist) =>
        new([.. whitelist.Select(One)], [.. blacklist.Select(One)]);

    public bool Matches(HubbleFlow f)
    {
        if (_white.Length > 0 && !Array.Exists(_white, m => m(f))) return false;
        return !Array.Exists(_black, m => m(f));
    }

    private static Func<HubbleFlow, bool> One(FlowFilter ff)
    {
        if (ff.Experimental is { CelExpression.Count: > 0 })
            throw Invalid("experimental.cel_expression is not supported by this server");
        var parts = new List<Func<HubbleFlow, bool>>();
        void Add<T>(ICollection<T> values, Func<HubbleFlow, T, bool> match)
        {
            if (values.Count == 0) return;
            var list = values.ToArray();
            parts.Add(f => Array.Exists(list, v => match(f, v)));
        }

        Add(ff.Uuid, (f, v) => f.Uuid == v);
        Add([.. ff.SourceIp.Select(IpMatcher)], (f, m) => f.IP is { } ip && m(ip.Source));
        Add([.. ff.DestinationIp.Select(IpMatcher)], (f, m) => f.IP is { } ip && m(ip.Destination));
        Add(ff.SourceIpXlated, (f, v) => f.IP is { } ip && ip.SourceXlated == v);
        Add([.. ff.SourcePod.Select(PodMatcher)], (f, m) => m(f.Source));
        Add([.. ff.DestinationPod.Select(PodMatcher)], (f, m) => m(f.Destination));
        Add(ff.SourceFqdn, (f, v) => f.SourceNames.Contains(v));
        Add(ff.DestinationFqdn, (f, v) => f.DestinationNames.Contains(v));
        Add([.. ff.SourceLabel.Select(LabelSelector.Parse)], (f, s) => f.Source is { } e && s.Matches(e.Labels));
        Add([.. ff.DestinationLabel.Select(LabelSelector.Parse)], (f, s) => f.Destination is { } e && s.Matches(e.Labels));
        Add(ff.SourceService, (f, v) => ServiceIs(f.SourceService, v));
        Add(ff.DestinationService, (f, v) => ServiceIs(f.DestinationService, v));
        Add(ff.SourceWorkload, (f, w) => f.Source is { } e && e.Workloads.Any(x => WorkloadIs(x, w)));
        Add(ff.DestinationWorkload, (f, w) => f.Destination is { } e && e.Workloads.Any(x => WorkloadIs(x, w)));
        Add(ff.SourceClusterName, (f, v) => f.Source?.ClusterName == v);
        Add(ff.DestinationClusterName, (f, v) => f.Destination?.ClusterName == v);
        Add(ff.TrafficDirection, (f, v) => f.TrafficDirection == v);
        Add(ff.Verdict, (f, v) => f.Verdict == v);
        Add(ff.DropReasonDesc, (f, v) => f.DropReasonDesc == v);
        Add(ff.Interface, (f, v) => f.Interface is { } i && (v.Name.Length == 0 || v.Name == i.Name) && (v.Index == 0 || v.Index == i.Index));
        Add(ff.EventType, (f, v) => f.EventType is { } t && t.Type == v.Type && (!v.MatchSubType || t.SubType == v.SubType));
        Add(ff.HttpStatusCode, (f, v) => f.L7?.Http is { } h && StatusMatches(h.Code, v));
        Add([.. ff.Protocol.Select(p => p.ToLowerInvariant())], ProtocolIs);
        Add([.. ff.SourcePort.Select(Port)], (f, p) => Ports(f).Src == p);
        Add([.. ff.DestinationPort.Select(Port)], (f, p) => Ports(f).Dst == p);
        Add(ff.Reply, (f, v) => (f.IsReply ?? false) == v);
        Add(ff.DnsQuery, (f, v) => f.L7?.Dns is { } d && System.Text.RegularExpressions.Regex.IsMatch(d.Query, v));
        Add(ff.SourceIdentity, (f, v) => f.Source?.Identity == v);
        Add(ff.DestinationIdentity, (f, v) => f.Destination?.Identity == v);
        Add(ff.HttpMethod, (f, v) => f.L7?.Http is { } h && string.Equals(h.Method, v, StringComparison.OrdinalIgnoreCase));
        Add(ff.HttpPath, (f, v) => f.L7?.Http is { } h && System.Text.RegularExpressions.Regex.IsMatch(PathOf(h.Url), v));
        Add(ff.HttpUrl, (f, v) => f.L7?.Http is { } h && System.Text.RegularExpressions.Regex.IsMatch(h.Url, v));
        Add(ff.HttpHeader, (f, v) => f.L7?.Http is { } h && h.Headers.Any(x => string.Equals(x.Key, v.Key, StringComparison.OrdinalIgnoreCase) && x.Value == v.Value));
        Add(ff.TcpFlags, (f, v) => f.L4?.TCP?.Flags is { } t && FlagsCover(t, v));
        Add([.. ff.NodeName.Select(NodeMatcher)], (f, m) => m(f.NodeName));
        Add(ff.NodeLabels, (f, v) => LabelSelector.Parse(v).Matches(f.NodeLabels));
        Add(ff.IpVersion, (f, v) => f.IP is { } ip && ip.IpVersion == v);
        Add(ff.TraceId, (f, v) => f.TraceContext?.Parent?.TraceId == v);
        Add(ff.IpTraceId, (f, v) => f.IpTraceId?.TraceId == v);
        Add(ff.Encrypted, (f, v) => (f.IP?.Encrypted ?? false) == v);
        var all = parts.ToArray();
        return f => Array.TrueForAll(all, p => p(f));
    }

    private static RpcException Invalid(string what) => new(new Status(StatusCode.InvalidArgument, what));

    /// <summary>An address, or a CIDR as hubble accepts it (<c>--ip 10.0.0.0/8</c>).</summary>
    private static Func<string, bool> IpMatcher(string v)
    {
        if (v.Contains('/'))
        {
            if (!IPNetwork.TryParse(v, out var net)) throw Invalid($"ip filter {v}: not an address or CIDR");
            return s => IPAddress.TryParse(s, out var a) && net.Contains(a);
        }
        if (!IPAddress.TryParse(v, out var ip)) throw Invalid($"ip filter {v}: not an address or CIDR");
        return s => IPAddress.TryParse(s, out var a) && a.Equals(ip);
    }

    /// <summary>Hubble's pod filter: <c>NAMESPACE/POD-PREFIX</c> (<c>NAMESPACE/</c> for the whole namespace); a bare name is in "default".</summary>
    private static Func<Endpoint?, bool> PodMatcher(string v)
    {
        int slash = v.IndexOf('/');
        string ns = slash < 0 ? "default" : v[..slash], prefix = slash < 0 ? v : v[(slash + 1)..];
        return e => e is { } ep && ep.Namespace == ns && (prefix.Length == 0 || ep.PodName.StartsWith(prefix, StringComparison.Ordinal));
    }

    /// <summary>Hubble's node filter: <c>CLUSTER/NODE</c> or <c>NODE</c> (any cluster), each part with <c>*</c> wildcards.</summary>
    private static Func<string, bool> NodeMatcher(string v)
    {
        static System.Text.RegularExpressions.Regex Glob(string g) =>
            new("^" + System.Text.RegularExpressions.Regex.Escape(g).Replace("\\*", "[^/]*") + "$");
        var pattern = Glob(v.Contains('/') ? v : "*/" + v);
        return name => pattern.IsMatch(name.Contains('/') ? name : "default/" + name);
    }

    private static bool ServiceIs(Service? s, string v)
    {
        if (s is null) return false;
        int slash = v.IndexOf('/');
        return slash < 0 ? s.Name == v || s.Namespace == v : s.Namespace == v[..slash] && s.Name.StartsWith(v[(slash + 1)..], StringComparison.Ordinal);
    }

    private static bool WorkloadIs(Workload have, Workload want) =>
        (want.Name.Length == 0 || want.Name == have.Name) && (want.Kind.Length == 0 || string.Equals(want.Kind, have.Kind, StringComparison.OrdinalIgnoreCase));

    private static bool StatusMatches(uint code, string v)
    {
        // "200", "4+" (any 4xx), "5+": hubble's --http-status forms.
        if (v.EndsWith('+') && uint.TryParse(v[..^1], out uint cls)) return code / 100 == cls;
        return uint.TryParse(v, out uint exact) && code == exact;
    }

    private static string PathOf(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.AbsolutePath : url;

    private static bool ProtocolIs(HubbleFlow f, string p) => p switch
    {
        "tcp" => f.L4?.TCP != null,
        "udp" => f.L4?.UDP != null,
        "sctp" => f.L4?.SCTP != null,
        "icmp" => f.L4?.ICMPv4 != null || f.L4?.ICMPv6 != null,
        "icmpv4" => f.L4?.ICMPv4 != null,
        "icmpv6" => f.L4?.ICMPv6 != null,
        "http" => f.L7?.Http != null,
        "dns" => f.L7?.Dns != null,
#pragma warning disable CS0612 // Kafka is deprecated in the proto, yet still a protocol hubble filters on
        "kafka" => f.L7?.Kafka != null,
#pragma warning restore CS0612
        _ => throw Invalid($"protocol filter {p}: one of tcp, udp, sctp, icmp, icmpv4, icmpv6, http, dns, kafka"),
    };

    private static uint Port(string v) =>
        uint.TryParse(v, out uint p) && p <= 65535 ? p : throw Invalid($"port filter {v}: not a port number");

    private static (uint Src, uint Dst) Ports(HubbleFlow f) => f.L4 switch
    {
        { TCP: { } t } => (t.SourcePort, t.DestinationPort),
        { UDP: { } u } => (u.SourcePort, u.DestinationPort),
        { SCTP: { } s } => (s.SourcePort, s.DestinationPort),
        _ => (uint.MaxValue, uint.MaxValue),
    };

    /// <summary>Every flag the filter sets is set in the flow.</summary>
    private static bool FlagsCover(TCPFlags have, TCPFlags want) =>
        (!want.SYN || have.SYN) && (!want.ACK || have.ACK) && (!want.FIN || have.FIN) && (!want.RST || have.RST)
        && (!want.PSH || have.PSH) && (!want.URG || have.URG) && (!want.ECE || have.ECE) && (!want.CWR || have.CWR) && (!want.NS || have.NS);
}
