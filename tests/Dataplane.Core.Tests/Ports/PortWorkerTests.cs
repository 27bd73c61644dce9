using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Ports;
using Dataplane.Core.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Ports;

/// <summary>The worker loop over in-memory ports: receive, pipeline, per-port transmit, buffers back.</summary>
public sealed class PortWorkerTests : IDisposable
{
    private readonly TestNode _node = new();
    private readonly MemoryPort _uplink, _pod;
    private readonly PortWorker _worker;

    public PortWorkerTests()
    {
        _uplink = new MemoryPort(TestNode.Uplink, "eth0", _node.Pool);
        _pod = new MemoryPort(TestNode.PodPort, "lxc0000000001", _node.Pool);
        _worker = new PortWorker(_node.Pipeline, new WorkerContext(0), [_uplink, _pod], [_uplink, _pod],
            new WorkerOptions { PollSleepMicros = 100, SpinBeforeSleep = 4 });
    }

    private static byte[] ToPod(byte ttl = 64) =>
        Eth4(Ipv4("198.18.0.77", "198.18.100.10", 1, Icmp(8, 0), ttl), dst: TestNode.Eth0Mac, src: TestNode.GatewayMac);

    private static byte[] FromPod() =>
        Eth4(Ipv4("198.18.100.10", "198.19.0.77", 17, Udp(5000, 53)), dst: TestNode.RouterMac, src: TestNode.PodMac);

    [Fact]
    public void RunOnceForwardsBothWaysPerOutputPortAndReturnsEveryBuffer()
    {
        int free = _node.Pool.Available;
        for (int i = 0; i < 300; i++) _uplink.Inject(ToPod());
        for (int i = 0; i < 100; i++) _pod.Inject(FromPod());
        _uplink.Inject(ToPod(ttl: 1));

        int received = 0;
        for (int i = 0; i < 10; i++) received += _worker.RunOnce();

        Assert.Equal(401, received);
        Assert.Equal(300, _pod.Sent.Count);
        Assert.Equal(100, _uplink.Sent.Count);
        Assert.All(_pod.Sent, f => Assert.Equal(TestNode.PodMac, ReadMac(f)));
        Assert.All(_uplink.Sent, f => Assert.Equal(TestNode.GatewayMac, ReadMac(f)));
        Assert.Equal(63, _pod.Sent[0][14 + 8]); // TTL decremented
        var c = _worker.Context.Counters;
        Assert.Equal(401UL, c.RxPackets);
        Assert.Equal(400UL, c.TxPackets);
        Assert.Equal(1UL, c.Drops[(int)DropReason.TtlExceeded]);
        Assert.Equal(free, _node.Pool.Available);
    }

    [Fact]
    public void RunStopsOnCancellationWithinBound()
    {
        using var cts = new CancellationTokenSource();
        var t = new Thread(() => _worker.Run(cts.Token)) { IsBackground = true };
        t.Start();
        _uplink.Inject(ToPod());
        Thread.Sleep(50);
        cts.Cancel();
        Assert.True(t.Join(TimeSpan.FromSeconds(5)));
        Assert.True(_worker.IdlePolls > 0);
    }

    [Fact]
    public void TxToAbsentPortIsCountedNotLost()
    {
        using var w = new PortWorker(_node.Pipeline, new WorkerContext(1), [_uplink], [_uplink, null]);
        _uplink.Inject(ToPod());
        Assert.Equal(1, w.RunOnce());
        Assert.Equal(1UL, w.TxNoPort);
        Assert.Empty(_pod.Sent);
    }

    public void Dispose()
    {
        _worker.Dispose();
        _node.Dispose();
    }
}
