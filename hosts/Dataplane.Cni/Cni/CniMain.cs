using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dataplane.Cni.Cni;

/// <summary>
/// The plugin process from its inputs to its outputs: environment and stdin in; the result or a CNI error JSON
/// on stdout, one diagnostic line on stderr, an exit code. Every failure ends here as an error JSON — a runtime
/// cannot act on a stack trace — and stdin is read only up to <see cref="MaxStdinChars"/>.
/// </summary>
public static class CniMain
{
    /// <summary>A network configuration is a few hundred bytes; a runtime never sends a megabyte.</summary>
    public const int MaxStdinChars = 1 << 20;

    // Runtimes log our messages: keep quotes readable instead of \u0027-escaped.
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static int Run(Func<string, string?> environment, TextReader? stdin, TextWriter stdout, TextWriter stderr)
    {
        string input = "";
        CniTiming.Enabled = !string.IsNullOrEmpty(environment("DATAPLANE_CNI_TIMING"));
        try
        {
            input = ReadBounded(stdin);
            var env = CniEnv.Read(environment);
            var result = CniPlugin.Execute(env, input);
            if (result is not null) stdout.WriteLine(result.ToJsonString(Json));
            CniTiming.Report(stderr);
            return 0;
        }
        catch (CniException e)
        {
            return Fail(e.Code, e.Message, e.Details);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(CniCode.IoFailure, e.Message, e.GetType().Name);
        }
        catch (Exception e)
        {
            // A bug, not an input problem: still an answer the runtime understands, with the trace for us on stderr.
            stderr.WriteLine($"dataplane-cni: internal error: {e}");
            return Fail(CniCode.Other, $"internal error: {e.GetType().Name}: {e.Message}", null);
        }

        int Fail(int code, string msg, string? details)
        {
            stdout.WriteLine(CniResult.Error(RequestedVersion(input), code, msg, details).ToJsonString(Json));
            stderr.WriteLine($"dataplane-cni: {OneLine(msg)}{(details is null ? "" : $": {OneLine(details)}")}");
            return 1;
        }
    }

    private static string ReadBounded(TextReader? stdin)
    {
        if (stdin is null) return "";
        var buffer = new char[MaxStdinChars + 1];
        int total = 0, n;
        while (total < buffer.Length && (n = stdin.Read(buffer, total, buffer.Length - total)) > 0) total += n;
        if (total > MaxStdinChars)
            throw new CniException(CniCode.DecodeFailure, $"network configuration on stdin is larger than {MaxStdinChars} characters");
        return new string(buffer, 0, total);
    }

    /// <summary>A message quoting an input (a container id with a newline) must not split the runtime's log line.</summary>
    internal static string OneLine(string s) =>
        s.AsSpan().IndexOfAny('\n', '\r') < 0 ? s : s.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    // Errors answer in the version the runtime asked for when it is one we speak.
    private static string RequestedVersion(string stdin)
    {
        try
        {
            if (JsonNode.Parse(stdin, documentOptions: NetConf.StrictJson) is JsonObject o && o["cniVersion"] is JsonValue v && v.TryGetValue(out string? s) && CniVersions.IsSupported(s))
                return s;
        }
        catch (JsonException) { }
        return CniVersions.Current;
    }
}
