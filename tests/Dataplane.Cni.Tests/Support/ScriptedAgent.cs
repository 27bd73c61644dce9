using System.Collections.Concurrent;
using System.Text.Json;
using Dataplane.Host.Api;
using Dataplane.Node.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dataplane.Cni.Tests.Support;

/// <summary>
/// The agent's API as the plugin sees it (GET /v1/node, PUT /v1/endpoints, DELETE), on a unix socket, with the
/// two behaviours a real agent cannot be made to show on demand: a registration that waits until the test lets
/// it go (a slow agent on a loaded node) and one that is refused. Every registration is recorded as it arrives,
/// so a test orders its steps by what the plugin has done, not by time.
/// </summary>
public sealed class ScriptedAgent : IDisposable
{
    private static readonly TimeSpan HoldLimit = TimeSpan.FromSeconds(120);

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ManualResetEventSlim> _held = new();
    private readonly ConcurrentDictionary<string, bool> _refused = new();

    public string SocketPath { get; }
    public string PodCidr { get; }

    /// <summary>Registrations in arrival order (before any hold or refusal is applied).</summary>
    public BlockingCollection<EndpointRegistration> Registrations { get; } = [];

    public ScriptedAgent(string socketPath, string podCidr)
    {
        SocketPath = socketPath;
        PodCidr = podCidr;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath));
        _app = builder.Build();
        _app.MapGet("/v1/node", () => Json(new NodeInfo("scripted", [podCidr], "02:00:00:00:00:99", 1), EndpointJson.Default.NodeInfo));
        _app.MapPut("/v1/endpoints", async (HttpRequest request) =>
        {
            var reg = await JsonSerializer.DeserializeAsync(request.Body, EndpointJson.Default.EndpointRegistration);
            if (reg is null) return Results.BadRequest();
            Registrations.Add(reg);
            if (_held.TryGetValue(reg.ContainerId, out var gate)) gate.Wait(HoldLimit);
            if (_refused.ContainsKey(reg.ContainerId))
                return Json(new ApiError($"endpoint {reg.ContainerId} refused by the test"), AgentJson.Default.ApiError, StatusCodes.Status400BadRequest);
            return Json(new EndpointResult(reg.Namespace, reg.Name, reg.HostInterface, 256, reg.Labels, 2), EndpointJson.Default.EndpointResult);
        });
        _app.MapDelete("/v1/endpoints/{containerId}/{ifName}", () => Results.Ok());
        _app.MapGet("/v1/endpoints/{containerId}/{ifName}", () => Results.NotFound());
        _app.StartAsync().GetAwaiter().GetResult();
    }

    /// <summary>This container's registration waits until <see cref="Release"/>.</summary>
    public void Hold(string containerId) => _held[containerId] = new ManualResetEventSlim(false);

    public void Release(string containerId)
    {
        if (_held.TryGetValue(containerId, out var gate)) gate.Set();
    }

    /// <summary>This container's registration is answered 400, as the agent refuses an endpoint.</summary>
    public void Refuse(string containerId) => _refused[containerId] = true;

    /// <summary>The next registration to arrive, or null when none comes within <paramref name="limit"/>.</summary>
    public EndpointRegistration? NextRegistration(TimeSpan limit) => Registrations.TryTake(out var r, limit) ? r : null;

    private static IResult Json<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, int status = 200) =>
        Results.Text(JsonSerializer.Serialize(value, type), "application/json", statusCode: status);

    public void Dispose()
    {
        foreach (var gate in _held.Values) gate.Set();
        _app.StopAsync().GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        try { File.Delete(SocketPath); } catch (IOException) { }
    }
}
