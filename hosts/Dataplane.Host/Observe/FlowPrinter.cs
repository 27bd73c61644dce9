using System.Globalization;
using System.Text.Json;

namespace Dataplane.Host.Observe;

/// <summary>
/// Writes flows as <c>hubble observe</c> does: the JSON line unchanged (<c>-o json</c>), or one readable line —
/// time, source → destination (pod or address, port, identity), verdict, drop reason, L4 summary.
/// </summary>
public static class FlowPrinter
{
    /// <summary>
    /// Reads hubble JSON lines from <paramref name="input"/> and prints those <paramref name="filter"/> passes.
    /// Malformed lines are reported on <paramref name="errors"/> and skipped. With <paramref name="follow"/> it
    /// waits for more lines at the end of the input (like <c>tail -f</c>) until <paramref name="stop"/>.
    /// Returns the flows printed.
    /// </summary>
    public static int Copy(TextReader input, TextWriter output, TextWriter errors, FlowFilter filter, bool json,
        bool follow = false, CancellationToken stop = default)
    {
        int printed = 0, lineNo = 0;
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
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e)
            {
                errors.WriteLine($"observe: line {lineNo}: not a flow record: {e.Message}");
                continue;
            }
            using (doc)
            {
                if (!doc.RootElement.TryGetProperty("flow", out var flow) || flow.ValueKind != JsonValueKind.Object)
                {
                    errors.WriteLine($"observe: line {lineNo}: no \"flow\" object");
                    continue;
                }
                if (!filter.Matches(flow)) continue;
                output.WriteLine(json ? line : Compact(flow));
                printed++;
            }
        }
        output.Flush();
        return printed;
    }

    /// <summary>One flow in the style of hubble's compact output.</summary>
    public static string Compact(JsonElement flow)
    {
        string time = Str(flow, "time") is { } t && DateTime.TryParse(t, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var when)
            ? when.ToString("MMM dd HH:mm:ss.fff", CultureInfo.InvariantCulture) : "-";
        var (sport, dport) = Ports(flow);
        string src = Endpoint(flow, "source", "source", sport);
        string dst = Endpoint(flow, "destination", "destination", dport);
        string verdict = Str(flow, "verdict") ?? "UNKNOWN";
        string reason = verdict is "DROPPED" or "AUDIT" && Str(flow, "drop_reason_desc") is { } d ? $" ({d})" : "";
        string summary = Str(flow, "Summary") ?? "";
        // L7 records as hubble prints them: "http-request FORWARDED (HTTP/1.1 GET http://…)".
        if (flow.TryGetProperty("l7", out var l7) && Str(l7, "type") is { } type)
            return $"{time}: {src} -> {dst} http-{type.ToLowerInvariant()} {verdict} ({summary})";
        return $"{time}: {src} -> {dst} {verdict}{reason} {summary}".TrimEnd();
    }

    private static string Endpoint(JsonElement flow, string side, string ipField, int port)
    {
        string? addr = flow.TryGetProperty("IP", out var ip) ? Str(ip, ipField) : null;
        string who = addr ?? "?";
        if (flow.TryGetProperty(side, out var ep))
        {
            if (Str(ep, "pod_name") is { } pod) who = $"{Str(ep, "namespace")}/{pod}";
            if (port != 0) who += $":{port}";
            if (ep.TryGetProperty("identity", out var id)) who += $" (ID:{id.GetRawText()})";
        }
        else if (port != 0) who += $":{port}";
        return who;
    }

    private static (int Src, int Dst) Ports(JsonElement flow)
    {
        if (!flow.TryGetProperty("l4", out var l4)) return (0, 0);
        foreach (var proto in l4.EnumerateObject())
            if (proto.Value.TryGetProperty("source_port", out var s) && proto.Value.TryGetProperty("destination_port", out var d))
                return (s.GetInt32(), d.GetInt32());
        return (0, 0);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
