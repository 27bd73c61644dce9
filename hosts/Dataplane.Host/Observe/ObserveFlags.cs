using System.CommandLine;
using System.Globalization;
using Flow;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using Observer;

namespace Dataplane.Host.Observe;

/// <summary>
/// <c>hubble observe</c>'s flags, turned into a <c>GetFlowsRequest</c> as hubble builds it: a flag that names either
/// side (<c>--pod</c>, <c>--ip</c>, <c>--label</c>, <c>--port</c>, <c>--namespace</c>, <c>--identity</c>) yields two
/// whitelist filters — one on the source, one on the destination — while <c>--from-*</c>/<c>--to-*</c> constrain
/// one side, and <c>--verdict</c>, <c>--protocol</c>, <c>--type</c>, <c>--node-name</c> apply to both. Repeated
/// values of one flag are alternatives. Without <c>--last</c>, <c>--first</c>, <c>--since</c> or <c>-f</c> the last
/// 20 flows are asked for, as hubble does.
/// </summary>
public sealed class ObserveFlags
{
    public const ulong DefaultLast = 20;

    private readonly Option<string[]> _namespace = Many("--namespace", "Flows from or to pods in this namespace");
    private readonly Option<string[]> _pod = Many("--pod", "Flows from or to this pod: [NAMESPACE/]POD-PREFIX (default namespace: --namespace, else default)");
    private readonly Option<string[]> _fromPod = Many("--from-pod", "Flows from this pod");
    private readonly Option<string[]> _toPod = Many("--to-pod", "Flows to this pod");
    private readonly Option<string[]> _label = Many("--label", "Flows from or to endpoints with these labels (selector: k8s:app=x,tier!=db)", "-l");
    private readonly Option<string[]> _fromLabel = Many("--from-label", "Flows from endpoints with these labels");
    private readonly Option<string[]> _toLabel = Many("--to-label", "Flows to endpoints with these labels");
    private readonly Option<string[]> _ip = Many("--ip", "Flows from or to this address or CIDR");
    private readonly Option<string[]> _fromIp = Many("--from-ip", "Flows from this address or CIDR");
    private readonly Option<string[]> _toIp = Many("--to-ip", "Flows to this address or CIDR");
    private readonly Option<string[]> _port = Many("--port", "Flows from or to this L4 port");
    private readonly Option<string[]> _fromPort = Many("--from-port", "Flows from this L4 port");
    private readonly Option<string[]> _toPort = Many("--to-port", "Flows to this L4 port");
    private readonly Option<string[]> _identity = Many("--identity", "Flows from or to this security identity");
    private readonly Option<string[]> _protocol = Many("--protocol", "tcp, udp, sctp, icmp, icmpv4, icmpv6 (or http, dns with L7)");
    private readonly Option<string[]> _verdict = Many("--verdict", "FORWARDED, DROPPED, AUDIT, ...");
    private readonly Option<string[]> _type = Many("--type", "Event type: drop, trace, policy-verdict, l7 (or a number, TYPE:SUBTYPE)", "-t");
    private readonly Option<string[]> _node = Many("--node-name", "Flows observed on this node: [CLUSTER/]NODE, * wildcards");
    private readonly Option<string?> _since = new("--since") { Description = "Flows since this time: RFC 3339, or a duration ago (30s, 5m, 1h)" };
    private readonly Option<string?> _until = new("--until") { Description = "Flows until this time: RFC 3339, or a duration ago" };
    private readonly Option<ulong> _last = new("--last") { Description = $"The last N flows (default {DefaultLast} when not following)" };
    private readonly Option<ulong> _first = new("--first") { Description = "The first N flows in the ring" };
    private readonly Option<bool> _follow = new("--follow", "-f") { Description = "Keep streaming new flows until interrupted" };
    private readonly Option<string> _output = new("--output", "-o") { Description = "compact, json or jsonpb (GetFlowsResponse lines, as hubble), table", DefaultValueFactory = _ => "compact" };

    public ObserveFlags() => _output.AcceptOnlyFromAmong("compact", "json", "jsonpb", "table");

    private static Option<string[]> Many(string name, string description, params string[] aliases) =>
        new(name, aliases) { Description = description, AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore };

    public void AddTo(Command command)
    {
        foreach (Option o in new Option[] { _namespace, _pod, _fromPod, _toPod, _label, _fromLabel, _toLabel, _ip, _fromIp, _toIp,
            _port, _fromPort, _toPort, _identity, _protocol, _verdict, _type, _node, _since, _until, _last, _first, _follow, _output })
            command.Options.Add(o);
    }

    public string Output(ParseResult p) => p.GetValue(_output)!;

    /// <summary>
    /// The request the flags ask for; a malformed value is an <see cref="ArgumentException"/> naming the flag.
    /// <paramref name="lastByDefault"/>: ask for the last <see cref="DefaultLast"/> when no number, window or follow
    /// was given (an Observer's ring; a file is read whole instead).
    /// </summary>
    public GetFlowsRequest Request(ParseResult p, DateTimeOffset now, bool lastByDefault = true)
    {
        string[] V(Option<string[]> o) => p.GetValue(o) ?? [];
        var ns = V(_namespace);
        string Pod(string pod) => pod.Contains('/') ? pod : $"{(ns.Length > 0 ? ns[0] : "default")}/{pod}";

        // The side-free part, shared by every filter.
        var common = new FlowFilter();
        foreach (var v in V(_verdict))
            common.Verdict.Add(System.Enum.TryParse<Verdict>(v, ignoreCase: true, out var verdict) && System.Enum.IsDefined(verdict) ? verdict : throw new ArgumentException($"--verdict {v}: not a verdict"));
        common.Protocol.Add(V(_protocol));
        common.NodeName.Add(V(_node));
        foreach (var t in V(_type)) common.EventType.Add(EventType(t));

        // One side's constraints: the directional flags, and for an "either" flag its value on this side.
        var sides = new List<FlowFilter>();
        void Side(Action<FlowFilter> fill)
        {
            var f = common.Clone();
            f.SourcePod.Add(V(_fromPod).Select(Pod)); f.DestinationPod.Add(V(_toPod).Select(Pod));
            f.SourceLabel.Add(V(_fromLabel)); f.DestinationLabel.Add(V(_toLabel));
            f.SourceIp.Add(V(_fromIp)); f.DestinationIp.Add(V(_toIp));
            f.SourcePort.Add(V(_fromPort)); f.DestinationPort.Add(V(_toPort));
            fill(f);
            sides.Add(f);
        }
        var pods = V(_pod).Select(Pod).Concat(V(_pod).Length == 0 ? ns.Select(n => n + "/") : []).ToArray();
        var identities = V(_identity).Select(i => uint.TryParse(i, out uint id) ? id : throw new ArgumentException($"--identity {i}: not a number")).ToArray();
        bool either = pods.Length > 0 || V(_label).Length > 0 || V(_ip).Length > 0 || V(_port).Length > 0 || identities.Length > 0;
        if (!either) Side(_ => { });
        else
        {
            Side(f => { f.SourcePod.Add(pods); f.SourceLabel.Add(V(_label)); f.SourceIp.Add(V(_ip)); f.SourcePort.Add(V(_port)); f.SourceIdentity.Add(identities); });
            Side(f => { f.DestinationPod.Add(pods); f.DestinationLabel.Add(V(_label)); f.DestinationIp.Add(V(_ip)); f.DestinationPort.Add(V(_port)); f.DestinationIdentity.Add(identities); });
        }

        var request = new GetFlowsRequest { Follow = p.GetValue(_follow) };
        foreach (var f in sides)
            if (!f.Equals(new FlowFilter())) request.Whitelist.Add(f);
        if (p.GetValue(_since) is { } since) request.Since = Time("--since", since, now);
        if (p.GetValue(_until) is { } until) request.Until = Time("--until", until, now);
        ulong first = p.GetValue(_first), last = p.GetValue(_last);
        if (first > 0 && last > 0) throw new ArgumentException("--first and --last exclude each other");
        if (first > 0 && request.Follow) throw new ArgumentException("--first cannot be combined with --follow");
        request.First = first > 0;
        request.Number = first > 0 ? first : last > 0 ? last
            : request.Follow || request.Since is not null || !lastByDefault ? 0UL : DefaultLast;
        return request;
    }

    /// <summary>Hubble's --type names (monitor message types: drop 1, trace 4, policy-verdict 5, l7 129), a number, or TYPE:SUBTYPE.</summary>
    private static EventTypeFilter EventType(string text)
    {
        string[] parts = text.Split(':', 2);
        int type = parts[0].ToLowerInvariant() switch
        {
            "drop" => 1, "trace" => 4, "policy-verdict" => 5, "l7" => 129, "capture" => 3, "debug" => 2,
            var n when int.TryParse(n, out int t) => t,
            _ => throw new ArgumentException($"--type {text}: one of drop, trace, policy-verdict, l7, or a number"),
        };
        var f = new EventTypeFilter { Type = type };
        if (parts.Length == 2)
        {
            f.MatchSubType = true;
            f.SubType = int.TryParse(parts[1], out int sub) ? sub : throw new ArgumentException($"--type {text}: the subtype is a number");
        }
        return f;
    }

    /// <summary>RFC 3339, or a Go-style duration ago ("90s", "5m", "1h30m").</summary>
    public static Timestamp Time(string flag, string text, DateTimeOffset now)
    {
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            return Timestamp.FromDateTimeOffset(at);
        var m = System.Text.RegularExpressions.Regex.Match(text, @"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$");
        if (!m.Success || text.Length == 0) throw new ArgumentException($"{flag} {text}: neither an RFC 3339 time nor a duration such as 30s, 5m, 1h");
        int Part(int g) => m.Groups[g].Success ? int.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture) : 0;
        return Timestamp.FromDateTimeOffset(now - new TimeSpan(Part(1), Part(2), Part(3)));
    }
}
