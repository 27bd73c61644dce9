using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Dataplane.Node.Lab;

/// <summary>
/// The lab's TCP traffic. A server in a pod answers each connection with its pod name and closes; a client in
/// another pod connects (to a pod or a service address), reads the answer and so learns which backend served it.
/// Every operation is bounded by a timeout.
/// </summary>
public sealed class TcpServer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <summary>Starts listening on <paramref name="port"/> inside namespace <paramref name="ns"/>.</summary>
    public TcpServer(string ns, int port, string name)
    {
        Name = name;
        _listener = NetnsThread.Run(ns, () =>
        {
            var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            s.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
            s.Listen(64);
            return s;
        });
        _loop = Task.Run(Serve);
    }

    public string Name { get; }

    /// <summary>Connections served.</summary>
    public int Served;

    private async Task Serve()
    {
        byte[] answer = Encoding.ASCII.GetBytes(Name + "\n");
        while (!_stop.IsCancellationRequested)
        {
            Socket c;
            try { c = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            using (c)
            {
                try { await c.SendAsync(answer, SocketFlags.None); c.Shutdown(SocketShutdown.Both); Interlocked.Increment(ref Served); }
                catch (SocketException) { }
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}

public static class TcpClientProbe
{
    /// <summary>
    /// Connects from namespace <paramref name="ns"/> to <paramref name="address"/>:<paramref name="port"/> and
    /// returns the server's answer (its pod name), or null when the connection failed or timed out.
    /// </summary>
    public static string? Ask(string ns, IPAddress address, int port, TimeSpan timeout)
    {
        var socket = NetnsThread.Run(ns, () => new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        using (socket)
        using (var cts = new CancellationTokenSource(timeout))
        {
            try
            {
                socket.ConnectAsync(address, port, cts.Token).AsTask().GetAwaiter().GetResult();
                var buf = new byte[256];
                int total = 0;
                while (total < buf.Length)
                {
                    int n = socket.ReceiveAsync(buf.AsMemory(total), SocketFlags.None, cts.Token).AsTask().GetAwaiter().GetResult();
                    if (n == 0) break;
                    total += n;
                }
                return Encoding.ASCII.GetString(buf, 0, total).Trim();
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException) { return null; }
        }
    }
}
