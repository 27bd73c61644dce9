using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Dataplane.Core.L7;

namespace Dataplane.Node.L7;

/// <summary>
/// The proxy's onward connections, one connection pool per client identity (a pooled connection carries the identity
/// it was opened for, so it is never reused for another). Each socket is bound to the proxy's address before it
/// connects (in the proxy's namespace), and its local port is registered in the upstream table with the identity, which is how the datapath
/// judges the connection with the client's identity (Cilium marks the proxy's upstream socket with it); the entry is
/// cleared when the connection closes.
/// </summary>
internal sealed class UpstreamClients(ProxyLink link, ProxyRedirects tables) : IDisposable
{
    private readonly ConcurrentDictionary<uint, HttpMessageInvoker> _byIdentity = new();

    public HttpMessageInvoker For(uint identity) => _byIdentity.GetOrAdd(identity, Create);

    private HttpMessageInvoker Create(uint identity) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        ConnectCallback = (ctx, ct) => ConnectAsync(ctx.DnsEndPoint, identity, ct),
    });

    private async ValueTask<Stream> ConnectAsync(DnsEndPoint to, uint identity, CancellationToken ct)
    {
        var socket = link.NewSocket();
        try
        {
            socket.Bind(new IPEndPoint(link.Address, 0));
            var port = (ushort)((IPEndPoint)socket.LocalEndPoint!).Port;
            tables.SetUpstream(port, identity);
            try { await socket.ConnectAsync(IPAddress.Parse(to.Host), to.Port, ct); }
            catch { tables.SetUpstream(port, 0); throw; }
            return new UpstreamStream(socket, port, tables);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var c in _byIdentity.Values) c.Dispose();
    }

    /// <summary>The connection's stream; closing it clears its port's identity.</summary>
    private sealed class UpstreamStream(Socket socket, ushort port, ProxyRedirects tables) : NetworkStream(socket, ownsSocket: true)
    {
        protected override void Dispose(bool disposing)
        {
            if (disposing) tables.SetUpstream(port, 0);
            base.Dispose(disposing);
        }
    }
}
