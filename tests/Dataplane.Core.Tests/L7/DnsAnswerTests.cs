using System.Buffers.Binary;
using System.Net;
using Dataplane.Core.L7;

namespace Dataplane.Core.Tests.L7;

/// <summary>DNS answers read as Cilium's ExtractMsgDetails: the CNAME chain followed, A and AAAA collected, the lowest TTL.</summary>
public class DnsAnswerTests
{
    private static byte[] Name(string name) =>
        [.. name.TrimEnd('.').Split('.').SelectMany(l => new[] { (byte)l.Length }.Concat(l.Select(c => (byte)c))), 0];

    private static byte[] Record(byte[] owner, ushort type, uint ttl, byte[] data)
    {
        var fixedPart = new byte[10];
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart, type);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(fixedPart.AsSpan(4), ttl);
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart.AsSpan(8), (ushort)data.Length);
        return [.. owner, .. fixedPart, .. data];
    }

    /// <summary>Question alias.allowed.test A; answer: CNAME (owner: pointer to the question) → www.allowed.test, then its A and AAAA (owner: pointer to the CNAME's target).</summary>
    private static byte[] ChainAnswer(string aOwner = "")
    {
        byte[] header = [0x42, 0x42, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0];
        byte[] question = [.. Name("Alias.Allowed.test"), 0, 1, 0, 1];
        int cnameData = header.Length + question.Length + 2 + 10;   // where the CNAME's target name starts
        byte[] target = Name("www.allowed.test");
        byte[] toQuestion = [0xC0, 12], toTarget = [0xC0, (byte)cnameData];
        byte[] aOwnerBytes = aOwner.Length == 0 ? toTarget : Name(aOwner);
        return [.. header, .. question, .. Record(toQuestion, 5, 300, target),
            .. Record(aOwnerBytes, 1, 60, [198, 18, 102, 1]), .. Record(toTarget, 28, 30, IPAddress.Parse("2001:db8:102::1").GetAddressBytes())];
    }

    [Fact]
    public void FollowsTheCnameChainWithTheLowestTtl()
    {
        Assert.True(DnsAnswer.TryParse(ChainAnswer(), out var a));
        Assert.Equal("alias.allowed.test.", a.Name);
        Assert.Equal(0, a.Rcode);
        Assert.Equal([IPAddress.Parse("198.18.102.1"), IPAddress.Parse("2001:db8:102::1")], a.Addresses);
        Assert.Equal(30u, a.Ttl);
    }

    [Fact]
    public void ARecordOfAnotherNameMakesTheAnswerUnusable() =>
        Assert.False(DnsAnswer.TryParse(ChainAnswer("evil.test"), out _));

    [Fact]
    public void LoopsTruncationAndQueriesAreRefused()
    {
        var good = ChainAnswer();
        Assert.False(DnsAnswer.TryParse(good.AsSpan(0, good.Length - 3), out _));
        var query = (byte[])good.Clone();
        query[2] = 0x01;   // QR clear: a query, not an answer
        Assert.False(DnsAnswer.TryParse(query, out _));
        // A pointer to itself (at the question): never followed forward or in a loop.
        byte[] loop = [0x42, 0x42, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1];
        Assert.False(DnsAnswer.TryParse(loop, out _));
    }

    [Fact]
    public void RefusedAnswerCarriesNoAddresses()
    {
        byte[] refused = [0x42, 0x42, 0x81, 0x85, 0, 1, 0, 0, 0, 0, 0, 0, .. Name("www.denied.test"), 0, 1, 0, 1];
        Assert.True(DnsAnswer.TryParse(refused, out var a));
        Assert.Equal(5, a.Rcode);
        Assert.Empty(a.Addresses);
    }
}
