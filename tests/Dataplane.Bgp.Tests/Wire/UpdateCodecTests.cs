using System.Net;
using Dataplane.Bgp.Wire;

namespace Dataplane.Bgp.Tests.Wire;

public class UpdateCodecTests
{
    internal static readonly PathAttributes Attrs = new()
    {
        Origin = Origin.Igp,
        AsPath = [new AsPathSegment(AsPathSegmentType.Sequence, [4_200_000_001, 65001])],
        MultiExitDisc = 10,
        LocalPref = 200,
        Communities = [PathAttributes.Community(65000, 100), PathAttributes.Community(65000, 200)],
    };

    private static UpdateMessage Parse(byte[] msg, bool as4 = true)
    {
        Assert.True(MessageFraming.TryReadHeader(msg, out var t, out int len, out _));
        Assert.Equal(MessageType.Update, t);
        Assert.Equal(msg.Length - 19, len);
        Assert.True(UpdateParser.TryParse(msg.AsSpan(19), as4, out var u, out var e), e.ToString());
        return u;
    }

    [Fact]
    public void Ipv4AnnouncementRoundTrips()
    {
        var prefixes = new[] { BgpPrefix.Parse("198.18.10.0/24"), BgpPrefix.Parse("198.19.0.0/16"), BgpPrefix.Parse("0.0.0.0/0") };
        var msgs = UpdateWriter.Announce(Attrs, IPAddress.Parse("198.18.0.1"), prefixes, fourOctetAs: true);
        var u = Parse(Assert.Single(msgs));
        Assert.Equal(prefixes, u.Announced);
        Assert.Equal(IPAddress.Parse("198.18.0.1"), u.NextHop4);
        Assert.Equal(Attrs.Communities, u.Attributes.Communities);
        Assert.Equal(200u, u.Attributes.LocalPref);
        Assert.Equal(10u, u.Attributes.MultiExitDisc);
        Assert.Equal(new uint[] { 4_200_000_001, 65001 }, u.Attributes.AsPath[0].Asns);
        Assert.Equal(2, u.Attributes.AsPathLength);
        Assert.Null(u.EndOfRib);
    }

    [Fact]
    public void Ipv6AnnouncementUsesMpReach()
    {
        var prefixes = new[] { BgpPrefix.Parse("2001:db8:1::/48"), BgpPrefix.Parse("2001:db8::1/128") };
        var msgs = UpdateWriter.Announce(Attrs, IPAddress.Parse("2001:db8::1"), prefixes, fourOctetAs: true);
        var u = Parse(Assert.Single(msgs));
        Assert.Equal(prefixes, u.Announced);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), u.NextHop6);
        Assert.Null(u.NextHop4);
    }

    [Fact]
    public void WithdrawalsRoundTripBothFamilies()
    {
        var v4 = Parse(Assert.Single(UpdateWriter.Withdraw([BgpPrefix.Parse("198.18.10.0/24")])));
        Assert.Equal([BgpPrefix.Parse("198.18.10.0/24")], v4.Withdrawn);
        var v6 = Parse(Assert.Single(UpdateWriter.Withdraw([BgpPrefix.Parse("2001:db8:1::/48")])));
        Assert.Equal([BgpPrefix.Parse("2001:db8:1::/48")], v6.Withdrawn);
        Assert.Null(v6.EndOfRib);
    }

    [Fact]
    public void EndOfRibMarkersAreRecognised()
    {
        Assert.Equal(Family.Ipv4Unicast, Parse(UpdateWriter.EndOfRib(Family.Ipv4Unicast)).EndOfRib);
        Assert.Equal(Family.Ipv6Unicast, Parse(UpdateWriter.EndOfRib(Family.Ipv6Unicast)).EndOfRib);
    }

    [Fact]
    public void LargeTablesSplitIntoMessagesUnder4096Bytes()
    {
        var prefixes = Enumerable.Range(0, 5000).Select(i => new BgpPrefix(new IPAddress((uint)IPAddress.HostToNetworkOrder(0x0A000000 | (i << 8))), 24)).ToList();
        var msgs = UpdateWriter.Announce(Attrs, IPAddress.Parse("198.18.0.1"), prefixes, true);
        Assert.True(msgs.Count > 1);
        Assert.All(msgs, m => Assert.True(m.Length <= 4096));
        Assert.Equal(prefixes, msgs.SelectMany(m => Parse(m).Announced));
        var v6 = Enumerable.Range(0, 3000).Select(i => new BgpPrefix(new IPAddress([0x20, 1, 0xd, 0xb8, (byte)(i >> 8), (byte)i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 48)).ToList();
        var m6 = UpdateWriter.Announce(Attrs, IPAddress.Parse("2001:db8::1"), v6, true);
        Assert.All(m6, m => Assert.True(m.Length <= 4096));
        Assert.Equal(v6, m6.SelectMany(m => Parse(m).Announced));
    }

    [Fact]
    public void TwoOctetSessionCarriesBigAsnsThroughAs4Path()
    {
        var msg = UpdateWriter.Announce(Attrs, IPAddress.Parse("198.18.0.1"), [BgpPrefix.Parse("198.18.1.0/24")], false)[0];
        var u = Parse(msg, as4: false);
        Assert.Equal(new uint[] { 4_200_000_001, 65001 }, u.Attributes.AsPath.SelectMany(s => s.Asns));
        // Without AS4_PATH (an old speaker in between dropped nothing, but suppose it did) AS_TRANS shows.
        var plain = UpdateWriter.Announce(Attrs with { AsPath = [new AsPathSegment(AsPathSegmentType.Sequence, [65001, 65002])] },
            IPAddress.Parse("198.18.0.1"), [BgpPrefix.Parse("198.18.1.0/24")], false)[0];
        Assert.Equal(new uint[] { 65001, 65002 }, Parse(plain, as4: false).Attributes.AsPath[0].Asns);
    }

    [Fact]
    public void As4PathMergeKeepsLeadingAsesItDoesNotCover()
    {
        // A 2-octet speaker (65010) prepended itself in front of a path that went through AS 4200000001.
        IReadOnlyList<AsPathSegment> asPath = [new(AsPathSegmentType.Sequence, [65010, OpenMessage.AsTrans, 65001])];
        List<AsPathSegment> as4 = [new(AsPathSegmentType.Sequence, [4_200_000_001, 65001])];
        var merged = AsPathCodec.MergeAs4(asPath, as4);
        Assert.Equal(new uint[] { 65010, 4_200_000_001, 65001 }, merged.SelectMany(s => s.Asns));
        // Longer AS4_PATH than AS_PATH: ignored.
        Assert.Same(asPath, AsPathCodec.MergeAs4(asPath, [new(AsPathSegmentType.Sequence, [1, 2, 3, 4])]));
    }

    // Hand-built bodies for each §6.3 error.
    private static BgpError Error(params byte[] body)
    {
        Assert.False(UpdateParser.TryParse(body, true, out _, out var e));
        Assert.Equal(ErrorCode.UpdateMessage, e.Code);
        return e;
    }

    private static byte[] WithAttrs(byte[] attrs, params byte[] nlri) =>
        [0, 0, (byte)(attrs.Length >> 8), (byte)attrs.Length, .. attrs, .. nlri];

    private static readonly byte[] Origin0 = [0x40, 1, 1, 0];
    private static readonly byte[] AsPath1 = [0x40, 2, 6, 2, 1, 0, 0, 0xFD, 0xE9];
    private static readonly byte[] NextHop1 = [0x40, 3, 4, 198, 18, 0, 1];
    private static readonly byte[] Nlri24 = [24, 198, 18, 5];

    [Fact]
    public void ValidHandBuiltUpdateParses()
    {
        Assert.True(UpdateParser.TryParse(WithAttrs([.. Origin0, .. AsPath1, .. NextHop1], Nlri24), true, out var u, out _));
        Assert.Equal(BgpPrefix.Parse("198.18.5.0/24"), Assert.Single(u.Announced));
        Assert.Equal(65001u, u.Attributes.FirstAs);
    }

    [Fact]
    public void MalformedInputsMapToRfc4271Subcodes()
    {
        Assert.Equal((byte)UpdateError.MalformedAttributeList, Error(0, 9, 0, 0).Subcode);
        Assert.Equal((byte)UpdateError.MalformedAttributeList, Error(WithAttrs([.. Origin0, .. Origin0, .. AsPath1, .. NextHop1], Nlri24)).Subcode);
        Assert.Equal((byte)UpdateError.UnrecognizedWellKnownAttribute, Error(WithAttrs([0x40, 99, 0, .. Origin0])).Subcode);
        var missing = Error(WithAttrs([.. Origin0, .. AsPath1], Nlri24));
        Assert.Equal((byte)UpdateError.MissingWellKnownAttribute, missing.Subcode);
        Assert.Equal(new byte[] { 3 }, missing.Data);
        Assert.Equal((byte)UpdateError.AttributeFlagsError, Error(WithAttrs([0xC0, 1, 1, 0, .. AsPath1, .. NextHop1], Nlri24)).Subcode);
        Assert.Equal((byte)UpdateError.AttributeLengthError, Error(WithAttrs([0x40, 1, 2, 0, 0, .. AsPath1, .. NextHop1], Nlri24)).Subcode);
        Assert.Equal((byte)UpdateError.InvalidOriginAttribute, Error(WithAttrs([0x40, 1, 1, 7, .. AsPath1, .. NextHop1], Nlri24)).Subcode);
        Assert.Equal((byte)UpdateError.InvalidNextHopAttribute, Error(WithAttrs([.. Origin0, .. AsPath1, 0x40, 3, 4, 0, 0, 0, 0], Nlri24)).Subcode);
        Assert.Equal((byte)UpdateError.OptionalAttributeError, Error(WithAttrs([.. Origin0, .. AsPath1, .. NextHop1, 0xC0, 8, 3, 1, 2, 3], Nlri24)).Subcode);
        Assert.Equal((byte)UpdateError.InvalidNetworkField, Error(WithAttrs([.. Origin0, .. AsPath1, .. NextHop1], 33, 1, 2, 3, 4, 5)).Subcode);
        Assert.Equal((byte)UpdateError.MalformedAsPath, Error(WithAttrs([.. Origin0, 0x40, 2, 6, 2, 2, 0, 0, 0xFD, 0xE9, .. NextHop1], Nlri24)).Subcode);
    }

    [Fact]
    public void Ipv4PrefixWithIpv6NextHopInMpReachIsAccepted()
    {
        // MP_REACH AFI 1 SAFI 1, 16-byte next hop 2001:db8::9, NLRI 198.18.7.0/24 (what GoBGP sends on IPv6 sessions).
        byte[] mp = [0x80, 14, 25, 0, 1, 1, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 24, 198, 18, 7];
        Assert.True(UpdateParser.TryParse(WithAttrs([.. Origin0, .. AsPath1, .. mp]), true, out var u, out var e), e.ToString());
        Assert.Equal([BgpPrefix.Parse("198.18.7.0/24")], u.Announced);
        Assert.Equal(IPAddress.Parse("2001:db8::9"), u.NextHopAt(0));
    }

    [Fact]
    public void UnknownOptionalAttributesAreIgnored()
    {
        Assert.True(UpdateParser.TryParse(WithAttrs([.. Origin0, .. AsPath1, .. NextHop1, 0xC0, 200, 2, 1, 2], Nlri24), true, out var u, out _));
        Assert.Single(u.Announced);
    }
}
