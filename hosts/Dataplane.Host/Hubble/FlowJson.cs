using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Observer;

namespace Dataplane.Host.Hubble;

/// <summary>
/// The JSON view of the generated messages, as <c>hubble observe -o json</c> prints it: protojson with the proto
/// field names (<c>drop_reason_desc</c>, <c>IP</c>, <c>l4</c>), one <c>GetFlowsResponse</c> — <c>{"flow":{…},
/// "node_name":…,"time":…}</c> — per line. The flow file, replay's flows and <c>observe</c> all go through here, so
/// their JSON is the proto's and cannot drift from what the Observer API sends.
/// </summary>
public static class FlowJson
{
    public static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));

    /// <summary>Lines written by other Hubble versions may carry fields this schema does not know: skipped, not refused.</summary>
    public static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// One line as hubble writes it: compact (Google.Protobuf's formatter puts spaces inside braces and after colons,
    /// Go's protojson under <c>hubble observe -o json</c> does not), so the JSON is re-emitted without them.
    /// </summary>
    public static string Line(GetFlowsResponse response)
    {
        using var doc = JsonDocument.Parse(Formatter.Format(response));
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, Compact)) doc.WriteTo(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Parses one line; throws <see cref="InvalidProtocolBufferException"/> (or <see cref="InvalidJsonException"/>) when it is not one.</summary>
    public static GetFlowsResponse Parse(string line) => Parser.Parse<GetFlowsResponse>(line);
}

internal static class EnumNames
{
    /// <summary>The proto's name of an enum value (FORWARDED, POLICY_DENIED), as hubble prints it.</summary>
    public static string OriginalName<T>(this T value) where T : struct, System.Enum =>
        typeof(T).GetField(value.ToString())?.GetCustomAttributes(typeof(Google.Protobuf.Reflection.OriginalNameAttribute), false)
            .OfType<Google.Protobuf.Reflection.OriginalNameAttribute>().FirstOrDefault()?.Name ?? value.ToString();
}
