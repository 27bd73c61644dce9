using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Dataplane.Host.Api;
using Dataplane.Node.Api;

namespace Dataplane.Cni.Cni;

/// <summary>The agent's API as the plugin uses it; an agent that does not answer is "try again later" (11).</summary>
internal sealed class AgentClient(string socketPath) : IDisposable
{
    private readonly HttpClient _http = AgentSocket.CreateClient(socketPath, TimeSpan.FromSeconds(30));

    public NodeInfo Node() => Call(() => _http.GetFromJsonAsync("v1/node", EndpointJson.Default.NodeInfo))
        ?? throw new CniException(CniCode.TryAgainLater, "agent sent no node information");

    public EndpointResult Register(EndpointRegistration reg)
    {
        using var resp = Call(() => _http.PutAsJsonAsync("v1/endpoints", reg, EndpointJson.Default.EndpointRegistration));
        if (resp.StatusCode == HttpStatusCode.BadRequest)
        {
            var err = Call(() => resp.Content.ReadFromJsonAsync(AgentJson.Default.ApiError));
            throw new CniException(CniCode.Other, "agent refused the endpoint", err?.Error);
        }
        Ensure(resp);
        return Call(() => resp.Content.ReadFromJsonAsync(EndpointJson.Default.EndpointResult))
            ?? throw new CniException(CniCode.Other, "agent sent an empty answer");
    }

    public EndpointRegistration? Find(string containerId, string ifName)
    {
        using var resp = Call(() => _http.GetAsync($"v1/endpoints/{Uri.EscapeDataString(containerId)}/{Uri.EscapeDataString(ifName)}"));
        if (resp.StatusCode == HttpStatusCode.NotFound) return null;
        Ensure(resp);
        return Call(() => resp.Content.ReadFromJsonAsync(EndpointJson.Default.EndpointRegistration));
    }

    public void Unregister(string containerId, string ifName)
    {
        using var resp = Call(() => _http.DeleteAsync($"v1/endpoints/{Uri.EscapeDataString(containerId)}/{Uri.EscapeDataString(ifName)}"));
        Ensure(resp);
    }

    private static void Ensure(HttpResponseMessage resp)
    {
        if (!resp.IsSuccessStatusCode)
            throw new CniException(CniCode.Other, $"agent answered {(int)resp.StatusCode} {resp.ReasonPhrase}");
    }

    private T Call<T>(Func<Task<T>> call)
    {
        try { return call().GetAwaiter().GetResult(); }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException or IOException)
        {
            throw new CniException(CniCode.TryAgainLater, $"the dataplane agent does not answer on {socketPath}", e.Message);
        }
        catch (JsonException e)
        {
            throw new CniException(CniCode.Other, "the dataplane agent's answer is not valid JSON", e.Message);
        }
    }

    public void Dispose() => _http.Dispose();
}
