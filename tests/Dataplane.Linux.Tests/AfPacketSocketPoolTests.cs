using System.Net;
using System.Net.Sockets;
using Dataplane.Core.Packets;
using Dataplane.Linux.AfPacket;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Sockets made ahead and closed behind (what keeps the kernel's RCU waits off a pod's CNI ADD/DEL): a port built on
/// a pooled socket receives like one made in place, the pool makes a new one once one is taken, and a retired port
/// is closed by the pool's thread. On loopback, in the test's own namespace.
/// </summary>
public sealed class AfPacketSocketPoolTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public unsafe void APortOnAPooledSocketReceives_AndIsClosedByThePool()
    {
        Assert.True(Sh.IsRoot, "AF_PACKET needs root (CAP_NET_RAW)");
        using var pool = new AfPacketSocketPool(new AfPacketOptions { BlockCount = 4, Promiscuous = false }, spare: 1);
        Assert.True(SpinUntil(() => pool.Ready == 1), "the pool did not make its spare socket");

        var port = new AfPacketPort(1, "lo", pool.Options, pool);
        Assert.Equal(1, pool.Taken);
        // Taking one makes the pool refill.
        Assert.True(SpinUntil(() => pool.Ready == 1), "the pool did not refill after a socket was taken");

        // A datagram to loopback comes back in as a frame; the pooled socket, bound now, must see it.
        byte[] marker = Guid.NewGuid().ToByteArray();
        using (var udp = new UdpClient(AddressFamily.InterNetwork))
            udp.Send(marker, marker.Length, new IPEndPoint(IPAddress.Loopback, 9));
        using var batch = new Batch();
        bool seen = SpinUntil(() =>
        {
            batch.Count = 0;
            int n = port.RxBurst(batch);
            bool found = false;
            for (int i = 0; i < n; i++)
                found |= new ReadOnlySpan<byte>(batch[i].Data, batch[i].Length).IndexOf(marker) >= 0;
            port.Release(batch, 0, n);
            return found;
        });
        Assert.True(seen, "the port on a pooled socket did not receive the loopback datagram");

        pool.Retire(port);
        Assert.True(pool.WaitClosed(Wait), "the pool did not close the retired port");
        Assert.Equal(1, pool.Closed);
        Assert.Equal(-1, port.Fd);
    }

    [Fact]
    public void OptionsThePoolDoesNotFix_StillTakeAPooledSocket_OthersDoNot()
    {
        var o = new AfPacketOptions { BlockCount = 4 };
        using var pool = new AfPacketSocketPool(o, spare: 0);
        var made = AfPacketSocket.Create(o);
        try
        {
            Assert.True(made.Fits(o with { FanoutGroup = 7, Promiscuous = false }));
            Assert.False(made.Fits(o with { BlockCount = 8 }));
            Assert.False(made.Fits(o with { VnetHeader = false }));
        }
        finally { made.Dispose(); }
        // A pool keeping none ready hands out none: the port makes its own.
        Assert.Null(pool.Take(o));
    }

    private static bool SpinUntil(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < until)
        {
            if (condition()) return true;
            Thread.Sleep(10);
        }
        return condition();
    }
}
