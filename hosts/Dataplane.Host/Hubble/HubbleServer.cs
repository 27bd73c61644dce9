using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dataplane.Host.Hubble;

/// <summary>
/// Serves Hubble's Observer gRPC API (HTTP/2) on a unix socket — Cilium's is
/// <c>/var/run/cilium/hubble.sock</c> — and optionally on TCP (Cilium's port is 4244), with TLS when given (<see cref="HubbleTls"/>), for the <c>hubble</c> CLI,
/// Hubble Relay, Hubble UI and our own <c>observe</c> and <c>relay</c>. The relay serves its merged view through
/// the same host with another <see cref="Observer.Observer.ObserverBase"/>.
/// </summary>
public sealed class HubbleServer : IDisposable
{
    private readonly WebApplication _app;
    private readonly string? _socket;

    private HubbleServer(WebApplication app, string? socket)
    {
        _app = app;
        _socket = socket;
    }

    /// <param name="socketPath">the unix socket ("" = none)</param>
    /// <param name="listen">a TCP address:port ("" = none)</param>
    /// <param name="tls">TLS (and mutual TLS) on the TCP listener; null = plain HTTP/2</param>
    public static HubbleServer Start<TService>(TService service, string socketPath, string listen, HubbleTls? tls = null)
        where TService : global::Observer.Observer.ObserverBase
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        builder.WebHost.ConfigureKestrel(k =>
        {
            if (socketPath.Length > 0)
            {
                Api.ApiServer.PrepareSocketPath(socketPath);
                k.ListenUnixSocket(socketPath, o => o.Protocols = HttpProtocols.Http2);
            }
            if (listen.Length > 0)
                k.Listen(ParseEndpoint(listen), o =>
                {
                    o.Protocols = HttpProtocols.Http2;
                    if (tls is not null) o.UseHttps(tls.Options());
                });
        });
        var app = builder.Build();
        app.MapGrpcService<TService>();
        app.StartAsync().GetAwaiter().GetResult();
        // Flows name every workload's traffic: root (and the group) only, as the agent's API socket.
        if (socketPath.Length > 0 && OperatingSystem.IsLinux())
            File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        return new HubbleServer(app, socketPath.Length > 0 ? socketPath : null);
    }

    /// <summary><c>ADDRESS:PORT</c>, <c>[V6]:PORT</c> or <c>:PORT</c> (all addresses).</summary>
    public static IPEndPoint ParseEndpoint(string text)
    {
        if (text.StartsWith(':') && int.TryParse(text[1..], out int any)) return new IPEndPoint(IPAddress.IPv6Any, any);
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port != 0) return ep;
        throw new ArgumentException($"{text}: not ADDRESS:PORT");
    }

    public void Dispose()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            _app.StopAsync(cts.Token).GetAwaiter().GetResult();
        _app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_socket is not null) try { File.Delete(_socket); } catch (IOException) { }
    }
}
