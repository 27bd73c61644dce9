using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Dataplane.Host.Api;
using Dataplane.Node.Api;

namespace Dataplane.Cni.Cni;

/// <summary>
/// The agent's API as the plugin uses it; an agent that does not answer is "try again later" (11). Every call is
/// synchronous (HttpClient.Send, a blocking connect, the body read from the response stream): a CNI ADD is two
/// requests, and async I/O would hand each one to the thread pool's threads and the socket engine's epoll thread,
/// a scheduler wake-up per hop that on a loaded node costs more than the request itself.
/// </summary>
internal sealed class AgentClient(string socketPath) : IDisposable
{
    private readonly HttpClient _http = AgentSocket.CreateClient(socketPath, TimeSpan.FromSeconds(30));

    public NodeInfo Node()
    {
        using var resp = Send(new HttpRequestMessage(HttpMethod.Get, "v1/node"));
        Ensure(resp);
        return Read(resp, EndpointJson.Default.NodeInfo) ?? throw new CniException(CniCode.TryAgainLater, "agent sent no node information");
    }

    public EndpointResult Register(EndpointRegistration reg)
    {
        using var resp = Send(new HttpRequestMessage(HttpMethod.Put, "v1/endpoints")
        {
            Content = JsonContent.Create(reg, EndpointJson.Default.EndpointRegistration),
        });
        if (resp.StatusCode == HttpStatusCode.BadRequest)
            throw new CniException(CniCode.Other, "agent refused the endpoint", Read(resp, AgentJson.Default.ApiError)?.Error);
        Ensure(resp);
        return Read(resp, EndpointJson.Default.EndpointResult) ?? throw new CniException(CniCode.Other, "agent sent an empty answer");
    }

    public EndpointRegistration? Find(string containerId, string ifName)
    {
        using var resp = Send(new HttpRequestMessage(HttpMethod.Get, $"v1/endpoints/{Uri.EscapeDataString(containerId)}/{Uri.EscapeDataString(ifName)}"));
        if (resp.StatusCode == HttpStatusCode.NotFound) return null;
        Ensure(resp);
        return Read(resp, EndpointJson.Default.EndpointRegistration);
    }

    public void Unregister(string containerId, string ifName)
    {
        using var resp = Send(new HttpRequestMessage(HttpMethod.Delete, $"v1/endpoints/{Uri.EscapeDataString(containerId)}/{Uri.EscapeDataString(ifName)}"));
        Ensure(resp);
    }

    private static void Ensure(HttpResponseMessage resp)
    {
        if (!resp.IsSuccessStatusCode)
            throw new CniException(CniCode.Other, $"agent answered {(int)resp.StatusCode} {resp.ReasonPhrase}");
    }

    private HttpResponseMessage Send(HttpRequestMessage request)
    {
        try { return _http.Send(request); }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException or IOException)
        {
            throw new CniException(CniCode.TryAgainLater, $"the dataplane agent does not answer on {socketPath}", e.Message);
        }
        finally { request.Dispose(); }
    }

    private T? Read<T>(HttpResponseMessage resp, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            using var body = resp.Content.ReadAsStream();
            return JsonSerializer.Deserialize(body, type);
        }
        catch (JsonException e)
        {
            throw new CniException(CniCode.Other, "the dataplane agent's answer is not valid JSON", e.Message);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException or IOException)
        {
            throw new CniException(CniCode.TryAgainLater, $"the dataplane agent does not answer on {socketPath}", e.Message);
        }
    }

    public void Dispose() => _http.Dispose();
}
