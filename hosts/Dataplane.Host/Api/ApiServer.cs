using System.Net.Sockets;
using Dataplane.Host.Agent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dataplane.Host.Api;

/// <summary>
/// The agent's local API: HTTP/1.1 + JSON (ASP.NET Core minimal APIs) on a unix socket only root can open.
/// Every host serves GET /v1/status (<see cref="AgentStatus"/>); a host adds its own routes through
/// <see cref="HostProfile.MapApi"/> (the node: its node info and endpoint registrations).
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

    public static ApiServer Start(HostAgent agent, string socketPath)
    {
        PrepareSocketPath(socketPath);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath));
        var app = builder.Build();

        app.MapGet("/v1/status", () => Results.Ok(agent.Status()));
        agent.Profile.MapApi(app, agent);

        app.StartAsync().GetAwaiter().GetResult();
        // The socket carries endpoint registrations: root (and the group) only.
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        return new ApiServer(app, socketPath);
    }

    /// <summary>Creates the directory; removes a socket file nobody listens on (left by a crash); refuses a live one.</summary>
    internal static void PrepareSocketPath(string path)
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
        throw new IOException($"{path}: another process is listening on this socket (choose another path)");
    }

    public void Dispose()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            _app.StopAsync(cts.Token).GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        try { File.Delete(_path); } catch (IOException) { }
    }
}
