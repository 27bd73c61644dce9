using Dataplane.Core.Conntrack;

namespace Dataplane.Core.Tests.Conntrack;

/// <summary>Connections with address translation: the reply tuple indexed is the translated one.</summary>
public sealed class ConntrackNatTests
{
    private static readonly CtKey ClientToVip = new(0x0A00011E, 0xC6123214, 40000, 80, 6, 4);   // 10.0.1.30 → 198.18.50.20:80
    private const uint Backend = 0x0A00020A;                                                        // 10.0.2.10:8080

    [Fact]
    public void DnatConnectionIsFoundByTheBackendsReplyOnly()
    {
        using var ct = new ConntrackTable(64);
        Assert.True(ct.TryInsert(ClientToVip, new CtNat(CtNatKind.Dnat, Backend, 8080), 100, out uint e));
        var reply = new CtKey(Backend, ClientToVip.Src, 8080, 40000, 6, 4);
        Assert.Equal(reply, ct.ReplyKeyOf(e));
        Assert.True(ct.TryLookup(reply, out uint r, out bool isReply));
        Assert.Equal((e, true), (r, isReply));
        Assert.True(ct.TryLookup(ClientToVip, out _, out bool fwdIsReply) && !fwdIsReply);
        // The VIP never answers: the plain reversed tuple is not a key of this connection.
        Assert.False(ct.TryLookup(ClientToVip.Reverse(), out _, out _));
        Assert.Equal(CtFlags.Dnat, ct[e].Flags);
    }

    [Fact]
    public void SnatConnectionIsFoundByTheTranslatedReplyAndIcmpUsesTheIdentifierTwice()
    {
        using var ct = new ConntrackTable(64);
        var tcp = new CtKey(0x0A00011E, 0xC6120909, 45000, 443, 6, 4);
        Assert.True(ct.TryInsert(tcp, new CtNat(CtNatKind.Snat, 0xC6120001, 33000), 100, out uint e));
        Assert.True(ct.TryLookup(new CtKey(0xC6120909, 0xC6120001, 443, 33000, 6, 4), out uint r, out bool rep) && rep && r == e);
        var echo = new CtKey(0x0A00011E, 0xC6120909, 0x4242, 0x4242, 1, 4);
        Assert.True(ct.TryInsert(echo, new CtNat(CtNatKind.Snat, 0xC6120001, 40001), 100, out uint i));
        Assert.Equal(new CtKey(0xC6120909, 0xC6120001, 40001, 40001, 1, 4), ct.ReplyKeyOf(i));
    }

    [Fact]
    public void RemoveAndRebuildKeepTheTranslatedReplyIndexConsistent()
    {
        using var ct = new ConntrackTable(256);
        var keys = new List<(CtKey Fwd, CtKey Reply, uint Entry)>();
        for (ushort i = 0; i < 200; i++)
        {
            var k = new CtKey(0x0A000100u + i, 0xC6123214, (ushort)(1000 + i), 80, 6, 4);
            Assert.True(ct.TryInsert(k, new CtNat(CtNatKind.Dnat, Backend, 8080), (uint)(i % 2 == 0 ? 10 : 1000), out uint e));
            keys.Add((k, ct.ReplyKeyOf(e), e));
        }
        // Expire the even half (and let the sweep rebuild the index when tombstones pile up).
        Assert.Equal(100, ct.Collect(now: 500, budget: 256));
        foreach (var (fwd, reply, e) in keys)
        {
            bool alive = ct.TryLookup(fwd, out _, out _);
            Assert.Equal(alive, ct.TryLookup(reply, out uint r, out _) && r == e);
        }
        Assert.Equal(100, ct.Count);
    }
}
