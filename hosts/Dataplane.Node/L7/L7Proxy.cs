using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dataplane.Core.Flows;
using Dataplane.Core.L7;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Snapshot;
using Dataplane.Host.L7;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Dataplane.Node.L7;

/// <summary>
/// The node's HTTP proxy (Cilium's per-node Envoy with its cilium.l7policy filter): Kestrel accepts the connections
/// the datapath redirected to it; for each request it finds, by the client's address and port, where the connection
/// was going and which rules apply (<see cref="ProxyRedirects"/>), matches the request against the HTTP rules of the
/// egress and the ingress side (each side that has some must allow it), answers a denied one itself with
/// <c>403</c> and <c>Access denied\r\n</c> as Cilium's proxy does, and forwards an allowed one to the original
/// destination with YARP's <see cref="IHttpForwarder"/> over a connection made for the client's identity
/// (<see cref="UpstreamClients"/>). Every request gives two L7 flow records (request, response) with Hubble's
/// http fields.
/// </summary>
public sealed class L7Proxy : IAsyncDisposable
{
    /// <summary>The proxy's TCP port on its address (Cilium allocates its proxy ports from 10000–20000).</summary>
    public const ushort ListenPort = 15001;
    private const string Denied = "Access denied\r\n";

    private static readonly ForwarderRequestConfig Forwarding = new()
    {
        ActivityTimeout = TimeSpan.FromSeconds(60),
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private readonly WebApplication _app;
    private readonly L7Shared _shared;
    private readonly Func<DatapathSnapshot?> _snapshot;
    private readonly UpstreamClients _clients;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpTransformer _transformer = new KeepHost();

    /// <summary>Requests on connections the datapath did not record (answered 500), allowed, denied.</summary>
    public long Unknown, Allowed, Refused;

    private readonly Socket _listener;

    private L7Proxy(WebApplication app, L7Shared shared, Func<DatapathSnapshot?> snapshot, ProxyLink link, Socket listener)
    {
        _app = app;
        _shared = shared;
        _snapshot = snapshot;
        _listener = listener;
        _clients = new UpstreamClients(link, shared.Tables);
        _forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        app.Run(HandleAsync);
    }

    /// <summary>Listens on the link's address in the proxy's namespace (the socket is made there; Kestrel takes its handle).</summary>
    public static L7Proxy Start(ProxyLink link, L7Shared shared, Func<DatapathSnapshot?> snapshot)
    {
        var listener = link.NewSocket();
        listener.Bind(new IPEndPoint(link.Address, ListenPort));
        listener.Listen(1024);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Requests run on the thread that completed the socket read, not queued to the thread pool once more: one
        // thread hop (a wake-up and a context switch) less per request; the handler never blocks.
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.ListenHandle((ulong)listener.Handle);
        });
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        var proxy = new L7Proxy(app, shared, snapshot, link, listener);
        app.StartAsync().GetAwaiter().GetResult();
        return proxy;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        long started = Stopwatch.GetTimestamp();
        var remote = ctx.Connection.RemoteIpAddress;
        var snapshot = _snapshot();
        var client = new Client(remote is null ? 0 : Core.Routing.RoutePrefix.ToUInt32(remote.MapToIPv4()), (ushort)ctx.Connection.RemotePort);
        if (remote is null || snapshot is null || !_shared.Tables.TryFind(client.Address, client.Port, out var info))
        {
            Interlocked.Increment(ref Unknown);
            ctx.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await ctx.Response.WriteAsync("no redirect recorded for this connection\r\n");
            return;
        }
        var req = ctx.Request;
        string method = req.Method;
        string target = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw ? raw : req.Path + req.QueryString;
        string host = req.Host.HasValue ? req.Host.Value! : "";
        string url = $"http://{(host.Length > 0 ? host : Format(info))}{target}";
        var rules = snapshot.Policy.Rules;
        var edits = new List<HeaderMatch>();
        bool allowed = Allows(rules, info.EgressRule, method, target, host, req.Headers, edits)
            && Allows(rules, info.IngressRule, method, target, host, req.Headers, edits);
        Record(info, client, L7RecordType.Request, allowed, method, url, 0, 0);
        if (!allowed)
        {
            Interlocked.Increment(ref Refused);
            ctx.Response.StatusCode = StatusCodes.Status403Forbidden;
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync(Denied);
            Record(info, client, L7RecordType.Response, false, method, url, 403, Elapsed(started));
            return;
        }
        Interlocked.Increment(ref Allowed);
        foreach (var e in edits)
        {
            if (e.Mismatch == HeaderMismatch.Delete) req.Headers.Remove(e.Name);
            else if (e.Mismatch == HeaderMismatch.Add) req.Headers.Append(e.Name, e.Value);
            else req.Headers[e.Name] = e.Value;
        }
        string destination = $"http://{Format(info)}";
        if (info.Route != 0)
        {
            // An HTTPRoute attached to the Service: the rule by path, the backend by weight, per request.
            var backend = Routed(snapshot, info.Route, req.Path.HasValue ? req.Path.Value! : "/", out int status);
            if (backend is null)
            {
                ctx.Response.StatusCode = status;
                await ctx.Response.WriteAsync(status == StatusCodes.Status404NotFound ? "no route matches\r\n" : "no valid backend\r\n");
                Record(info, client, L7RecordType.Response, true, method, url, status, Elapsed(started));
                return;
            }
            destination = $"http://{Host.Hubble.FlowRecords.FormatIp(backend.Address, 4)}:{backend.Port}";
        }
        await _forwarder.SendAsync(ctx, destination, _clients.For(info.SrcIdentity), Forwarding, _transformer);
        Record(info, client, L7RecordType.Response, true, method, url, ctx.Response.StatusCode, Elapsed(started));
    }

    /// <summary>The backend HTTPRoute <paramref name="route"/> picks for <paramref name="path"/>; null with 404 (no rule) or 500 (no valid backend).</summary>
    private RouteBackend? Routed(Core.Snapshot.DatapathSnapshot snapshot, ushort route, string path, out int status)
    {
        status = StatusCodes.Status500InternalServerError;
        var routes = snapshot.L7Proxy?.Routes ?? [];
        if (route > routes.Length) return null;
        var rule = routes[route - 1].Match(path);
        if (rule is null) { status = StatusCodes.Status404NotFound; return null; }
        if (rule.TotalWeight == 0) return null;
        var backend = rule.Pick(Random.Shared.Next(rule.TotalWeight));
        if (backend is null || backend.Address == 0) return null;
        return backend;
    }

    /// <summary>A side without L7 rules allows; a side with some allows what one of them matches.</summary>
    private static bool Allows(Core.Policy.PolicyRuleRef?[] rules, uint rule, string method, string target, string host,
        IHeaderDictionary headers, List<HeaderMatch> edits)
    {
        if (rule == 0 || rule >= (uint)rules.Length || rules[rule]?.Http is not { } http) return true;
        var found = new List<HeaderMatch>();
        if (http.Match(method, target, host, name => headers.TryGetValue(name, out var v) ? v.ToString() : null, found) < 0) return false;
        edits.AddRange(found);
        return true;
    }

    private static ulong Elapsed(long started) => (ulong)Stopwatch.GetElapsedTime(started).Ticks * 100;

    private static string Format(in RedirectInfo info) => $"{Host.Hubble.FlowRecords.FormatIp(info.OrigDst, 4)}:{info.OrigPort}";

    /// <summary>One L7 flow record: the request (client → server) or the response (server → client, a reply).</summary>
    internal readonly record struct Client(UInt128 Address, ushort Port);

    private void Record(in RedirectInfo info, Client client, L7RecordType type, bool allowed, string method, string url, int code, ulong latency) =>
        Publish(_shared, info, client, type, allowed, new L7Flow(type, latency, method, url, "HTTP/1.1", code));

    /// <summary>One L7 flow event of either proxy: the request (client → server) or the response (a reply).</summary>
    internal static void Publish(L7Shared shared, in RedirectInfo info, Client client, L7RecordType type, bool allowed, L7Flow flow)
    {
        bool udp = flow.DnsQuery is not null;
        flow = flow with { Type = type };
        bool response = type == L7RecordType.Response;
        var e = new FlowEvent
        {
            TimeNanos = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100,
            IpVersion = 4,
            L4Proto = udp ? IpProtocols.Udp : IpProtocols.Tcp,
            Verdict = allowed ? PacketVerdict.Tx : PacketVerdict.Drop,
            DropReason = allowed ? 0 : Core.Drops.DropReason.PolicyDenied,
            Direction = info.IngressRule != 0 && info.EgressRule == 0 ? TrafficDirection.Ingress : TrafficDirection.Egress,
            CtState = response ? CtState.Reply : CtState.Established,
            PolicyRule = info.EgressRule,
            IngressPolicyRule = info.IngressRule,
            InPort = ushort.MaxValue,
            OutPort = ushort.MaxValue,
        };
        if (response)
        {
            e.Src = info.OrigDst; e.Dst = client.Address; e.SrcPort = info.OrigPort; e.DstPort = client.Port;
            e.SrcIdentity = info.DstIdentity; e.DstIdentity = info.SrcIdentity;
            e.SrcEndpoint = info.DstEndpoint; e.DstEndpoint = info.SrcEndpoint;
        }
        else
        {
            e.Src = client.Address; e.SrcPort = client.Port; e.Dst = info.OrigDst; e.DstPort = info.OrigPort;
            e.SrcIdentity = info.SrcIdentity; e.DstIdentity = info.DstIdentity;
            e.SrcEndpoint = info.SrcEndpoint; e.DstEndpoint = info.DstEndpoint;
        }
        shared.Publish(e, flow);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _clients.Dispose();
        _listener.Dispose();
    }

    /// <summary>YARP's default request copy, keeping the client's Host header (Envoy forwards it unchanged).</summary>
    private sealed class KeepHost : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest,
            string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            if (httpContext.Request.Host.HasValue) proxyRequest.Headers.Host = httpContext.Request.Host.Value;
        }
    }
}
