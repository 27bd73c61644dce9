using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Session;

/// <summary>
/// One TCP connection to a peer: a reader that frames messages and posts them to the peer's loop, and a
/// writer draining a queue so the loop never blocks on a slow or frozen peer. State and timers belong to the
/// peer loop; this class only moves bytes.
/// </summary>
internal sealed class BgpConnection
{
    private readonly Socket _socket;
    private readonly Channel<byte[]> _out = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _cts = new();
    private int _closed;
    private Task _reader = Task.CompletedTask;

    public BgpConnection(Socket socket, bool inbound)
    {
        _socket = socket;
        _socket.NoDelay = true;
        Inbound = inbound;
        LocalAddress = Unmap(((IPEndPoint)socket.LocalEndPoint!).Address);
    }

    public bool Inbound { get; }
    public IPAddress LocalAddress { get; }
    public SessionState State { get; set; } = SessionState.OpenSent;
    public OpenMessage? RemoteOpen { get; set; }
    public long HoldDeadline { get; set; } = long.MaxValue;
    public long KeepaliveDue { get; set; } = long.MaxValue;
    public int HoldMs { get; set; }
    public bool FourOctetAs { get; set; }
    public HashSet<Family> Families { get; } = [];

    public void Start(ChannelWriter<PeerEvent> events)
    {
        _reader = Task.Run(() => ReadLoop(events));
        _ = Task.Run(WriteLoop);
    }

    public void Send(byte[] message) => _out.Writer.TryWrite(message);

    /// <summary>Sends <paramref name="notification"/> if given, then closes once the queue is flushed (or
    /// after a second, if the peer does not read).</summary>
    public void Close(BgpError? notification)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        if (notification is { } n) _out.Writer.TryWrite(NotificationMessage.Encode(n));
        _out.Writer.TryComplete();
        _cts.CancelAfter(TimeSpan.FromSeconds(1));
    }

    private async Task WriteLoop()
    {
        try
        {
            await foreach (var msg in _out.Reader.ReadAllAsync(_cts.Token))
                await _socket.SendAsync(msg, SocketFlags.None, _cts.Token);
        }
        catch (Exception) { /* peer gone or cancelled: the reader reports the close */ }
        finally
        {
            // Half-close and let the reader drain until the peer closes too: closing with unread input
            // would send a RST, and a RST can destroy the NOTIFICATION we just sent before the peer reads it.
            try { _socket.Shutdown(SocketShutdown.Send); } catch (SocketException) { } catch (ObjectDisposedException) { }
            try { await _reader.WaitAsync(TimeSpan.FromSeconds(1)); } catch (TimeoutException) { }
            _cts.Cancel();
            _socket.Dispose();
        }
    }

    private async Task ReadLoop(ChannelWriter<PeerEvent> events)
    {
        var header = new byte[MessageFraming.HeaderLength];
        string reason = "closed by peer";
        try
        {
            while (true)
            {
                if (!await ReadExactly(header)) break;
                if (!MessageFraming.TryReadHeader(header, out var type, out int len, out var err))
                {
                    events.TryWrite(new PeerEvent.FramingError(this, err));
                    // Framing is lost: discard input until the peer closes (or Close's deadline).
                    while (await _socket.ReceiveAsync(header, SocketFlags.None, _cts.Token) > 0) { }
                    return;
                }
                var body = new byte[len];
                if (!await ReadExactly(body)) break;
                events.TryWrite(new PeerEvent.Message(this, type, body));
            }
        }
        catch (Exception ex)
        {
            // Whatever ended the read, the peer loop must hear about it rather than wait for the hold timer.
            reason = ex.Message;
        }
        events.TryWrite(new PeerEvent.Closed(this, reason));
    }

    private async Task<bool> ReadExactly(byte[] buffer)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = await _socket.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None, _cts.Token);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }

    internal static IPAddress Unmap(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
