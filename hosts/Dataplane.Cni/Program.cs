using System.Text.Json;
using System.Text.Json.Nodes;
using Dataplane.Cni.Cni;

// dataplane-cni: the CNI plugin (spec 1.0.0). The runtime sets CNI_* variables and writes the network
// configuration on stdin; the result or a CNI error goes to stdout, diagnostics to stderr.
string stdin = "";
// Runtimes log our messages: keep quotes readable instead of \u0027-escaped.
var Json = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
try
{
    if (Console.IsInputRedirected) stdin = Console.In.ReadToEnd();
    var env = CniEnv.Read(Environment.GetEnvironmentVariable);
    var result = CniPlugin.Execute(env, stdin);
    if (result is not null) Console.Out.WriteLine(result.ToJsonString(Json));
    return 0;
}
catch (CniException e)
{
    return Fail(e.Code, e.Message, e.Details);
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
{
    return Fail(e is IOException or UnauthorizedAccessException ? CniCode.IoFailure : CniCode.Other, e.Message, e.GetType().Name);
}

int Fail(int code, string msg, string? details)
{
    Console.Out.WriteLine(CniResult.Error(RequestedVersion(stdin), code, msg, details).ToJsonString(Json));
    Console.Error.WriteLine($"dataplane-cni: {msg}{(details is null ? "" : $": {details}")}");
    return 1;
}

// Errors answer in the version the runtime asked for when it is one we speak.
static string RequestedVersion(string stdin)
{
    try
    {
        if (JsonNode.Parse(stdin) is JsonObject o && o["cniVersion"] is JsonValue v && v.TryGetValue(out string? s) && CniVersions.IsSupported(s))
            return s;
    }
    catch (JsonException) { }
    return CniVersions.Current;
}
