using System.Net;
using System.Net.Sockets;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Session;

/// <summary>A scripted peer on a plain socket, for what a well-behaved speaker would never send.</summary>
internal sealed class RawPeer : IDisposable
{
    private readonly Socket _s;

    private RawPeer(Socket s) => _s = s;

    public static async Task<RawPeer> ConnectAsync(IPAddress local, IPEndPoint speaker)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(local, 0));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await s.ConnectAsync(speaker, cts.Token);
        return new RawPeer(s);
    }

    /// <summary>Accepts one connection from the speaker on <paramref name="listener"/>.</summary>
    public static async Task<RawPeer> AcceptAsync(Socket listener)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return new RawPeer(await listener.AcceptAsync(cts.Token));
    }

    /// <summary>Sends; false when the speaker already closed (it may have just sent a NOTIFICATION).</summary>
    public async Task<bool> SendAsync(byte[] msg)
    {
        try
        {
            await _s.SendAsync(msg, SocketFlags.None);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Reads one message (type, body), or null on close / after 15 s.</summary>
    public async Task<(MessageType Type, byte[] Body)?> ReadAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            var h = new byte[19];
            if (!await Fill(h, cts.Token)) return null;
            Assert.True(MessageFraming.TryReadHeader(h, out var t, out int len, out _));
            var body = new byte[len];
            if (!await Fill(body, cts.Token)) return null;
            return (t, body);
        }
        catch (OperationCanceledException) { return null; }
    }

    /// <summary>Reads until a NOTIFICATION arrives (skipping OPEN/KEEPALIVE/UPDATE).</summary>
    public async Task<BgpError?> ReadNotificationAsync()
    {
        for (int i = 0; i < 100; i++)
        {
            var m = await ReadAsync();
            if (m is null) return null;
            if (m.Value.Type == MessageType.Notification) return NotificationMessage.Decode(m.Value.Body);
        }
        return null;
    }

    private async Task<bool> Fill(byte[] buf, CancellationToken ct)
    {
        int got = 0;
        while (got < buf.Length)
        {
            int n = await _s.ReceiveAsync(buf.AsMemory(got), SocketFlags.None, ct);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }

    public void Dispose() => _s.Dispose();
}
