using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.Node.Agent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dataplane.Node.Api;

/// <summary>
/// The agent's local API: HTTP/1.1 + JSON (ASP.NET Core minimal APIs) on a unix socket only root can open.
/// <list type="bullet">
/// <item>GET /v1/status — <see cref="AgentStatus"/></item>
/// <item>GET /v1/node — <see cref="NodeInfo"/> (pod CIDRs, router MAC: what the CNI plugin addresses pods from)</item>
/// <item>PUT /v1/endpoints — register an <see cref="EndpointRegistration"/>; 200 <see cref="EndpointResult"/>, 400 <see cref="ApiError"/></item>
/// <item>GET|DELETE /v1/endpoints/{containerId}/{ifName} — look up / unregister (DELETE is idempotent)</item>
/// </list>
/// </summary>
internal sealed class ApiServer : IDisposable
{
    private readonly WebApplication _app;
    private readonly string _path;

    private ApiServer(WebApplication app, string path)
    {
        _app = app;
        _path = path;
    }

    public static ApiServer Start(NodeAgent agent, string socketPath)
    {
        PrepareSocketPath(socketPath);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath));
        var app = builder.Build();

        app.MapGet("/v1/status", () => Results.Ok(agent.Status()));
        app.MapGet("/v1/node", () =>
        {
            var s = agent.Snapshot;
            var node = agent.NodeSpec;
            return Results.Ok(new NodeInfo(s.NodeName, [.. node.PodCidrs.Select(c => c.ToString())], StatusReport.FormatMac(s.RouterMac), s.Generation));
        });
        app.MapPut("/v1/endpoints", (EndpointRegistration reg) =>
        {
            if (EndpointStore.Validate(reg) is { } problem) return Results.BadRequest(new ApiError(problem));
            try { return Results.Ok(agent.Register(reg)); }
            catch (ConfigException e) { return Results.BadRequest(new ApiError(e.Reason)); }
        });
        app.MapGet("/v1/endpoints/{containerId}/{ifName}", (string containerId, string ifName) =>
            agent.Endpoints.Find(containerId, ifName) is { } reg ? Results.Ok(reg) : Results.NotFound(new ApiError("no such endpoint")));
        app.MapDelete("/v1/endpoints/{containerId}/{ifName}", (string containerId, string ifName) =>
            Results.Ok(new { removed = agent.Unregister(containerId, ifName) }));

        app.StartAsync().GetAwaiter().GetResult();
        // The socket carries endpoint registrations: root (and the group) only.
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        return new ApiServer(app, socketPath);
    }

    /// <summary>Creates the directory; removes a socket file nobody listens on (left by a crash); refuses a live one.</summary>
    private static void PrepareSocketPath(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (!File.Exists(path)) return;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);
            return;
        }
        throw new IOException($"{path}: another agent is listening on this socket (use --socket to choose another)");
    }

    public void Dispose()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            _app.StopAsync(cts.Token).GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        try { File.Delete(_path); } catch (IOException) { }
    }
}
