using System.Net.Http.Json;
using System.Text.Json;
using Dataplane.Host.Api;
using Dataplane.Node.Api;

namespace Dataplane.Linux.Tests.Support;

/// <summary>What a test asks a running agent over its unix socket.</summary>
public static class AgentApi
{
    public static AgentStatus Status(string socket)
    {
        using var http = AgentSocket.CreateClient(socket, TimeSpan.FromSeconds(20));
        return http.GetFromJsonAsync<AgentStatus>("v1/status", JsonSerializerOptions.Web).GetAwaiter().GetResult()!;
    }
}
