using System.Net;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Wire;

public class OpenCodecTests
{
    private static OpenMessage Sample() => new(4, OpenMessage.AsTrans, 90, IPAddress.Parse("198.18.0.1"), new Capabilities
    {
        Families = [Family.Ipv4Unicast, Family.Ipv6Unicast],
        RouteRefresh = true,
        FourOctetAs = 4_200_000_001,
        GracefulRestart = new GracefulRestartCapability(true, 120, [new(Family.Ipv4Unicast, true), new(Family.Ipv6Unicast, false)]),
    });

    private static ReadOnlySpan<byte> Body(byte[] msg) => msg.AsSpan(MessageFraming.HeaderLength);

    [Fact]
    public void RoundTripsAllCapabilities()
    {
        var msg = OpenCodec.Encode(Sample());
        Assert.True(MessageFraming.TryReadHeader(msg, out var type, out int len, out _));
        Assert.Equal(MessageType.Open, type);
        Assert.Equal(msg.Length - 19, len);
        Assert.True(OpenCodec.TryDecode(Body(msg), out var open, out _));
        Assert.Equal(4_200_000_001u, open.AsNumber);
        Assert.Equal(90, open.HoldTime);
        Assert.Equal([Family.Ipv4Unicast, Family.Ipv6Unicast], open.Capabilities.Families);
        Assert.True(open.Capabilities.RouteRefresh);
        var gr = open.Capabilities.GracefulRestart!;
        Assert.True(gr.Restarting);
        Assert.Equal(120, gr.RestartTimeSeconds);
        Assert.True(gr.Families[0].ForwardingPreserved);
        Assert.False(gr.Families[1].ForwardingPreserved);
        Assert.Equal(0xC6120001u, open.Identifier);
    }

    [Fact]
    public void WrongVersionIsUnsupportedVersion()
    {
        var msg = OpenCodec.Encode(Sample());
        msg[19] = 3;
        Assert.False(OpenCodec.TryDecode(Body(msg), out _, out var e));
        Assert.Equal((ErrorCode.OpenMessage, (byte)OpenError.UnsupportedVersionNumber), (e.Code, e.Subcode));
        Assert.Equal(new byte[] { 0, 4 }, e.Data);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void HoldTimeOneOrTwoIsUnacceptable(int hold)
    {
        var msg = OpenCodec.Encode(Sample() with { HoldTime = (ushort)hold });
        Assert.False(OpenCodec.TryDecode(Body(msg), out _, out var e));
        Assert.Equal((ErrorCode.OpenMessage, (byte)OpenError.UnacceptableHoldTime), (e.Code, e.Subcode));
    }

    [Fact]
    public void ZeroIdentifierIsBadIdentifier()
    {
        var msg = OpenCodec.Encode(Sample() with { BgpIdentifier = IPAddress.Any });
        Assert.False(OpenCodec.TryDecode(Body(msg), out _, out var e));
        Assert.Equal((ErrorCode.OpenMessage, (byte)OpenError.BadBgpIdentifier), (e.Code, e.Subcode));
    }

    [Fact]
    public void UnknownOptionalParameterIsRejected()
    {
        var msg = OpenCodec.Encode(Sample());
        msg[29] = 9; // first optional parameter's type
        Assert.False(OpenCodec.TryDecode(Body(msg), out _, out var e));
        Assert.Equal((ErrorCode.OpenMessage, (byte)OpenError.UnsupportedOptionalParameter), (e.Code, e.Subcode));
    }

    [Fact]
    public void HeaderChecksMarkerLengthAndType()
    {
        var ka = MessageFraming.Keepalive();
        Assert.True(MessageFraming.TryReadHeader(ka, out var t, out int len, out _));
        Assert.Equal((MessageType.Keepalive, 0), (t, len));

        var bad = (byte[])ka.Clone();
        bad[3] = 0;
        Assert.False(MessageFraming.TryReadHeader(bad, out _, out _, out var e));
        Assert.Equal((ErrorCode.MessageHeader, (byte)HeaderError.ConnectionNotSynchronized), (e.Code, e.Subcode));

        bad = (byte[])ka.Clone();
        bad[17] = 20;
        Assert.False(MessageFraming.TryReadHeader(bad, out _, out _, out e));
        Assert.Equal((ErrorCode.MessageHeader, (byte)HeaderError.BadMessageLength), (e.Code, e.Subcode));
        Assert.Equal(new byte[] { 0, 20 }, e.Data);

        bad = (byte[])ka.Clone();
        bad[18] = 9;
        Assert.False(MessageFraming.TryReadHeader(bad, out _, out _, out e));
        Assert.Equal((ErrorCode.MessageHeader, (byte)HeaderError.BadMessageType), (e.Code, e.Subcode));
    }

    [Fact]
    public void NotificationAndRouteRefreshRoundTrip()
    {
        var n = NotificationMessage.Encode(new BgpError(ErrorCode.Cease, (byte)CeaseError.AdministrativeShutdown, [1, 2]));
        var d = NotificationMessage.Decode(n.AsSpan(19));
        Assert.Equal(ErrorCode.Cease, d.Code);
        Assert.Equal(new byte[] { 1, 2 }, d.Data);
        var rr = RouteRefreshMessage.Encode(Family.Ipv6Unicast);
        Assert.True(MessageFraming.TryReadHeader(rr, out var t, out _, out _));
        Assert.Equal(MessageType.RouteRefresh, t);
        Assert.Equal(Family.Ipv6Unicast, RouteRefreshMessage.Decode(rr.AsSpan(19)));
    }
}
