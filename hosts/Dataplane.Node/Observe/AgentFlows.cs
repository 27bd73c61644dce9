using System.Net.Sockets;
using System.Text.Json;
using Dataplane.Node.Api;

namespace Dataplane.Node.Observe;

/// <summary>Finds the running agent's flow file through its API (the status answer names it).</summary>
public static class AgentFlows
{
    /// <summary>The flow file, or null (with the reason on <paramref name="error"/>) when there is no agent or it exports no flows.</summary>
    public static string? FileOf(string socketPath, TextWriter error)
    {
        try
        {
            using var http = AgentSocket.CreateClient(socketPath, TimeSpan.FromSeconds(10));
            string raw = http.GetStringAsync("v1/status").GetAwaiter().GetResult();
            var s = JsonSerializer.Deserialize<AgentStatus>(raw, JsonSerializerOptions.Web);
            if (s?.FlowsFile is { Length: > 0 } f) return f;
            error.WriteLine($"error: the agent on {socketPath} exports no flow events (start it with run --flows-file FILE)");
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException or JsonException)
        {
            error.WriteLine($"error: no agent answers on {socketPath}: {e.Message}");
            return null;
        }
    }
}
