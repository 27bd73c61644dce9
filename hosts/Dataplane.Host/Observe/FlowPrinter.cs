using System.Globalization;
using Dataplane.Host.Hubble;
using Google.Protobuf;
using Observer;

namespace Dataplane.Host.Observe;

/// <summary>
/// Writes <c>GetFlowsResponse</c>s as <c>hubble observe</c> does: <c>-o json</c>/<c>jsonpb</c> one protojson line
/// each (<see cref="FlowJson"/>), <c>compact</c> one readable line — time, source → destination (pod or address,
/// port, identity), verdict, drop reason, summary — and <c>table</c> aligned columns under a header. The same
/// printer serves flows from the Observer API and from a flow file.
/// </summary>
public sealed class FlowPrinter(TextWriter output, string format)
{
    private bool _header;

    public void Print(GetFlowsResponse r)
    {
        if (format is "json" or "jsonpb")
        {
            output.WriteLine(FlowJson.Line(r));
            return;
        }
        if (r.ResponseTypesCase == GetFlowsResponse.ResponseTypesOneofCase.LostEvents)
        {
            output.WriteLine($"EVENTS LOST: {r.LostEvents.Source} {r.LostEvents.NumEventsLost}");
            return;
        }
        if (r.ResponseTypesCase == GetFlowsResponse.ResponseTypesOneofCase.NodeStatus)
        {
            var n = r.NodeStatus;
            output.WriteLine($"{n.StateChange.OriginalName()}: {string.Join(", ", n.NodeNames)}{(n.Message.Length > 0 ? $" ({n.Message})" : "")}");
            return;
        }
        if (r.Flow is not { } flow) return;
        if (format == "table")
        {
            if (!_header) output.WriteLine(Row("TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"));
            _header = true;
            output.WriteLine(Row(Time(flow), Side(flow, source: true), Side(flow, source: false), Type(flow), flow.Verdict.ToString().ToUpperInvariant(), Summary(flow)));
            return;
        }
        output.WriteLine(Compact(flow));
    }

    /// <summary>
    /// Prints the flows of a file of hubble JSON lines that <paramref name="query"/> wants (the last or first N of
    /// them when it asks for a number). Malformed lines are reported on <paramref name="errors"/> and skipped. With
    /// <paramref name="follow"/> it waits for more lines at the end (like <c>tail -f</c>) until <paramref name="stop"/>.
    /// Returns the flows printed.
    /// </summary>
    public int Copy(TextReader input, TextWriter errors, FlowQuery query, bool follow = false, CancellationToken stop = default)
    {
        int printed = 0, lineNo = 0;
        var last = new Queue<GetFlowsResponse>();
        bool lastN = !query.Request.First && query.Number > 0 && !follow;
        while (!stop.IsCancellationRequested)
        {
            string? line = input.ReadLine();
            if (line == null)
            {
                if (!follow) break;
                output.Flush();
                stop.WaitHandle.WaitOne(200);
                continue;
            }
            lineNo++;
            if (line.Length == 0) continue;
            GetFlowsResponse r;
            try { r = FlowJson.Parse(line); }
            catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException)
            {
                errors.WriteLine($"observe: line {lineNo}: not a flow record: {e.Message}");
                continue;
            }
            if (r.Flow is null)
            {
                errors.WriteLine($"observe: line {lineNo}: no \"flow\" object");
                continue;
            }
            if (!query.Wanted(r.Flow)) continue;
            if (lastN)
            {
                last.Enqueue(r);
                if ((ulong)last.Count > query.Number) last.Dequeue();
                continue;
            }
            Print(r);
            printed++;
            if (query.Request.First && (ulong)printed >= query.Number) break;
        }
        foreach (var r in last) Print(r);
        output.Flush();
        return printed + last.Count;
    }

    private static string Row(params string[] cells) =>
        string.Join("   ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(Widths[i])));

    private static readonly int[] Widths = [21, 40, 40, 14, 10];

    private static string Time(Flow.Flow f) =>
        f.Time is { } t ? t.ToDateTime().ToString("MMM dd HH:mm:ss.fff", CultureInfo.InvariantCulture) : "-";

    /// <summary>One flow in the style of hubble's compact output.</summary>
    public static string Compact(Flow.Flow f)
    {
        string reason = f.Verdict is Flow.Verdict.Dropped or Flow.Verdict.Audit && f.DropReasonDesc != Flow.DropReason.Unknown
            ? $" ({f.DropReasonDesc.OriginalName()})" : "";
        // L7 records as hubble prints them: "http-request FORWARDED (HTTP/1.1 GET http://…)", "dns-request proxy FORWARDED (DNS Query …)".
        if (f.L7 is { } l7)
            return $"{Time(f)}: {Side(f, source: true)} -> {Side(f, source: false)} {(l7.Dns is null ? "http" : "dns")}-{l7.Type.OriginalName().ToLowerInvariant()}{(l7.Dns is null ? "" : " proxy")} {f.Verdict.OriginalName()} ({Summary(f)})";
        return $"{Time(f)}: {Side(f, source: true)} -> {Side(f, source: false)} {f.Verdict.OriginalName()}{reason} {Summary(f)}".TrimEnd();
    }

    private static string Summary(Flow.Flow f)
    {
#pragma warning disable CS0612 // the deprecated Summary is still what hubble prints when it has one
        return f.Summary;
#pragma warning restore CS0612
    }

    private static string Type(Flow.Flow f) => f.EventType?.Type switch
    {
        1 => "drop", 4 => "trace", 5 => "policy-verdict", 129 => "l7", { } t => t.ToString(CultureInfo.InvariantCulture), null => "-",
    };

    private static string Side(Flow.Flow f, bool source)
    {
        var ep = source ? f.Source : f.Destination;
        string who = (source ? f.IP?.Source : f.IP?.Destination) ?? "?";
        if (ep is { PodName.Length: > 0 }) who = $"{ep.Namespace}/{ep.PodName}";
        uint port = f.L4 switch
        {
            { TCP: { } t } => source ? t.SourcePort : t.DestinationPort,
            { UDP: { } u } => source ? u.SourcePort : u.DestinationPort,
            { SCTP: { } s } => source ? s.SourcePort : s.DestinationPort,
            _ => 0,
        };
        if (port != 0) who += $":{port}";
        if (ep is { Identity: > 0 }) who += $" (ID:{ep.Identity})";
        return who;
    }
}
