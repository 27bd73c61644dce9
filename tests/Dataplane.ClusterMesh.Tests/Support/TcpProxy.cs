using System.Net;
using System.Net.Sockets;

namespace Dataplane.ClusterMesh.Tests.Support;

/// <summary>
/// A loopback TCP relay in front of etcd that a test can cut (every connection reset, new ones refused) and
/// restore: a network partition between one client and etcd while others keep writing.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accept;
    private volatile bool _cut;

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public TcpProxy(int upstreamPort)
    {
        _upstream = upstreamPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = Task.Run(AcceptAsync);
    }

    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var c in _open) Reset(c);
            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    /// <summary>Closes with RST (linger 0), as a broken link looks to the peer; tolerates an already closed socket.</summary>
    private static void Reset(TcpClient c)
    {
        try { c.Client?.LingerState = new LingerOption(true, 0); }
        catch (Exception) { /* already closed */ }
        c.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { return; }
            if (_cut) { Reset(client); continue; }
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        try { await upstream.ConnectAsync(IPAddress.Loopback, _upstream, _stop.Token); }
        catch (Exception) { client.Dispose(); upstream.Dispose(); return; }
        lock (_open) { _open.Add(client); _open.Add(upstream); }
        var a = Pump(client, upstream);
        var b = Pump(upstream, client);
        await Task.WhenAny(a, b);
        client.Dispose();
        upstream.Dispose();
        lock (_open) { _open.Remove(client); _open.Remove(upstream); }
    }

    private async Task Pump(TcpClient from, TcpClient to)
    {
        try { await from.GetStream().CopyToAsync(to.GetStream(), _stop.Token); }
        catch (Exception) { /* either side closed or the link was cut */ }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        Cut();
        try { await _accept; } catch (Exception) { }
        _stop.Dispose();
    }
}
