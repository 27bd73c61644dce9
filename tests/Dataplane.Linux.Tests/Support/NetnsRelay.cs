using System.Net;
using System.Net.Sockets;
using Dataplane.Node.Lab;

namespace Dataplane.Linux.Tests.Support;

/// <summary>
/// Makes a loopback TCP port of this (the test's) namespace reachable at the same loopback port inside another
/// namespace: the listening socket is created in that namespace (a socket keeps the namespace it was made in),
/// every accepted connection is relayed to 127.0.0.1:port here. So an agent in its own namespace reaches an etcd
/// that listens on the host's loopback only; when etcd is down the relay refuses, as etcd's port would.
/// </summary>
public sealed class NetnsRelay : IDisposable
{
    private readonly Socket _listener;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _open = [];

    public NetnsRelay(string ns, int port)
    {
        _port = port;
        _listener = NetnsThread.Run(ns, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, port));
            s.Listen(64);
            return s;
        });
        _ = Task.Run(AcceptAsync);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            _ = Task.Run(() => RelayAsync(client));
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        lock (_open) { _open.Add(client); _open.Add(upstream); }
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            connect.CancelAfter(TimeSpan.FromSeconds(2));
            await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _port), connect.Token);
            using var a = new NetworkStream(client, ownsSocket: false);
            using var b = new NetworkStream(upstream, ownsSocket: false);
            // Either direction ending (or failing) ends the connection both ways, as a broken link would.
            await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException) { }
        finally
        {
            lock (_open) { _open.Remove(client); _open.Remove(upstream); }
            client.Dispose();
            upstream.Dispose();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_open)
        {
            foreach (var s in _open) s.Dispose();
            _open.Clear();
        }
    }
}
