using Dataplane.Core.Conntrack;
using Dataplane.Core.Packets;

namespace Dataplane.Core.Tests.Conntrack;

public class TcpTrackerTests
{
    private static readonly CtTimeouts T = CtTimeouts.Default;
    private const byte Syn = 0x02, Ack = 0x10, Fin = 0x01, Rst = 0x04, SynAck = 0x12;

    [Fact]
    public void HandshakeMovesFromSynTimeoutToEstablishedLifetime()
    {
        var e = new CtEntry();
        Assert.Equal(CtState.New, TcpTracker.Update(ref e, 6, Syn, reply: false, created: true, now: 100, T));
        Assert.Equal(100 + 60u, e.Expires);
        Assert.Equal(CtState.Reply, TcpTracker.Update(ref e, 6, SynAck, reply: true, created: false, now: 101, T));
        Assert.Equal(101 + 60u, e.Expires);
        Assert.Equal(CtState.Established, TcpTracker.Update(ref e, 6, Ack, reply: false, created: false, now: 102, T));
        Assert.Equal(102 + 6 * 3600u, e.Expires);
        Assert.Equal(3u, e.Packets);
    }

    [Fact]
    public void FinBothWaysOrRstSwitchesToCloseTimeout()
    {
        var e = new CtEntry();
        TcpTracker.Update(ref e, 6, Syn, false, true, 0, T);
        TcpTracker.Update(ref e, 6, Ack, false, false, 1, T);
        TcpTracker.Update(ref e, 6, (byte)(Fin | Ack), false, false, 2, T);
        Assert.False(TcpTracker.IsClosing(e));
        Assert.Equal(2 + 6 * 3600u, e.Expires);
        TcpTracker.Update(ref e, 6, (byte)(Fin | Ack), true, false, 3, T);
        Assert.True(TcpTracker.IsClosing(e));
        Assert.Equal(3 + 10u, e.Expires);

        var r = new CtEntry();
        TcpTracker.Update(ref r, 6, Syn, false, true, 0, T);
        TcpTracker.Update(ref r, 6, Rst, true, false, 5, T);
        Assert.True(TcpTracker.IsClosing(r));
        Assert.Equal(15u, r.Expires);
    }

    [Fact]
    public void OtherProtocolsUseTheNonTcpLifetime()
    {
        var e = new CtEntry();
        Assert.Equal(CtState.New, TcpTracker.Update(ref e, 17, 0, false, true, 1000, T));
        Assert.Equal(1060u, e.Expires);
        Assert.Equal(CtState.Reply, TcpTracker.Update(ref e, 17, 0, true, false, 1030, T));
        Assert.Equal(1090u, e.Expires);
        Assert.NotEqual(0, e.State & TcpTracker.SeenReply);
    }
}
