using System.IO.Hashing;
using Dataplane.Core.Conntrack;

namespace Dataplane.Core.Tests.Conntrack;

/// <summary>
/// Connections in a shared file outlive the table that tracked them: a second table over the same file finds them
/// (with their translations, in both directions), drops what expired or was torn, and a file of another layout,
/// capacity or a damaged header is discarded with the reason rather than misread.
/// </summary>
public sealed class ConntrackFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dpt-ctfile-").FullName;
    private string PathOf(string name) => Path.Combine(_dir, name);

    private static readonly CtKey Plain = new(0xC6126401, 0xC6126402, 40000, 8080, 6, 4);
    private static readonly CtKey ToVip = new(0xC6126401, 0xC612C80A, 40001, 80, 6, 4);
    private static readonly CtKey Masqueraded = new(0xC6126401, 0xC6130909, 40002, 443, 6, 4);
    private const uint Now = 1_000_000;

    [Fact]
    public void ConnectionsAndTheirTranslationsSurviveAReattach()
    {
        string path = PathOf("q0.ct");
        using (var first = new ConntrackTable(ConntrackFile.Open(path, 64), Now))
        {
            Assert.False(first.File!.Reused);
            Assert.True(first.TryInsert(Plain, Now + 100, out uint p));
            first[p].State = TcpTracker.SeenReply | TcpTracker.SeenNonSyn;
            Assert.True(first.TryInsert(ToVip, new CtNat(CtNatKind.Dnat, 0xC6126414, 8080), Now + 100, out _));
            Assert.True(first.TryInsert(Masqueraded, new CtNat(CtNatKind.Snat, 0xC6120001, 33000), Now + 100, out _));
            Assert.True(first.TryInsert(new CtKey(0xC6126401, 0xC6126403, 1, 2, 17, 4), Now + 5, out _)); // expires while nobody tracks it
        }
        if (OperatingSystem.IsLinux()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        using var second = new ConntrackTable(ConntrackFile.Open(path, 64), Now + 10);
        Assert.True(second.File!.Reused);
        Assert.Null(second.File.Discarded);
        Assert.Equal(3, second.Recovered);
        Assert.Equal(3, second.Count);
        Assert.True(second.TryLookup(Plain.Reverse(), out uint e, out bool reply) && reply);
        Assert.Equal(TcpTracker.SeenReply | TcpTracker.SeenNonSyn, second[e].State);
        // The backend's reply finds the DNATed connection; the masqueraded one is found by its translated reply.
        Assert.True(second.TryLookup(new CtKey(0xC6126414, 0xC6126401, 8080, 40001, 6, 4), out uint d, out reply) && reply);
        Assert.Equal((CtNatKind.Dnat, (UInt128)0xC6126414, (ushort)8080), (second.Nat(d).Kind, second.Nat(d).Addr, second.Nat(d).Port));
        Assert.True(second.TryLookup(new CtKey(0xC6130909, 0xC6120001, 443, 33000, 6, 4), out _, out reply) && reply);
        Assert.False(second.TryLookup(new CtKey(0xC6126401, 0xC6126403, 1, 2, 17, 4), out _, out _));
        // The rest of the pool is free again, and what was cleared does not come back.
        for (ushort i = 0; i < 61; i++) Assert.True(second.TryInsert(new CtKey(0xC6126500u + i, 0xC6126402, i, 80, 6, 4), Now + 100, out _));
        Assert.Equal(64, second.Count);
        Assert.Equal(0, second.Evictions);
    }

    [Fact]
    public void AnEntryTornByACrashIsClearedNotRecovered()
    {
        string path = PathOf("torn.ct");
        uint torn;
        using (var first = new ConntrackTable(ConntrackFile.Open(path, 16), Now))
        {
            Assert.True(first.TryInsert(Plain, Now + 100, out _));
            Assert.True(first.TryInsert(ToVip, new CtNat(CtNatKind.Dnat, 0xC6126414, 8080), Now + 100, out torn));
            // As if the writer died between the flags and the translation: a DNAT flag without its translation.
            first.Nat(torn) = default;
        }
        using var second = new ConntrackTable(ConntrackFile.Open(path, 16), Now);
        Assert.Equal(1, second.Recovered);
        Assert.False(second.TryLookup(ToVip, out _, out _));
        Assert.Equal(0u, second[torn].Expires);
    }

    [Theory]
    [InlineData("version", "layout version 99, this build writes 1")]
    [InlineData("checksum", "header checksum mismatch")]
    [InlineData("magic", "not a conntrack file")]
    [InlineData("layout", "layout checksum")]
    [InlineData("short", "header cut short")]
    public void AFileOfAnotherLayoutIsDiscardedWithTheReason(string damage, string reason)
    {
        string path = PathOf($"{damage}.ct");
        using (var first = new ConntrackTable(ConntrackFile.Open(path, 16), Now))
            Assert.True(first.TryInsert(Plain, Now + 100, out _));
        Damage(path, damage);

        using var second = new ConntrackTable(ConntrackFile.Open(path, 16), Now);
        Assert.False(second.File!.Reused);
        Assert.Contains(reason, second.File.Discarded);
        Assert.Equal(0, second.Count);
        Assert.False(second.TryLookup(Plain, out _, out _));
        Assert.True(second.TryInsert(Plain, Now + 100, out _));
        second.Dispose();
        // Rewritten in this build's layout: the next one adopts it.
        using var third = new ConntrackTable(ConntrackFile.Open(path, 16), Now);
        Assert.True(third.File!.Reused);
        Assert.Equal(1, third.Recovered);
    }

    [Fact]
    public void AnotherCapacityStartsEmpty()
    {
        string path = PathOf("cap.ct");
        using (var first = new ConntrackTable(ConntrackFile.Open(path, 16), Now))
            Assert.True(first.TryInsert(Plain, Now + 100, out _));
        using var second = new ConntrackTable(ConntrackFile.Open(path, 32), Now);
        Assert.Equal("capacity 16, this agent is configured for 32", second.File!.Discarded);
        Assert.Equal(0, second.Count);
        Assert.Equal(32, second.Capacity);
    }

    [Fact]
    public void ASecondHolderIsRefused()
    {
        string path = PathOf("busy.ct");
        using var first = ConntrackFile.Open(path, 16);
        var e = Assert.Throws<ConntrackFileBusyException>(() => ConntrackFile.Open(path, 16));
        Assert.Contains(path, e.Message);
    }

    /// <summary>Rewrites the header as another build (or a crash) would have left it; the header checksum is kept valid unless that is the damage.</summary>
    private static void Damage(string path, string how)
    {
        var bytes = File.ReadAllBytes(path);
        switch (how)
        {
            case "version": BitConverter.TryWriteBytes(bytes.AsSpan(8), 99u); break;
            case "magic": bytes[0] ^= 0xFF; break;
            case "layout": bytes[32] ^= 0x01; break;
            case "checksum": bytes[56] ^= 0x01; break;
            case "short": File.WriteAllBytes(path, bytes[..20]); return;
        }
        if (how != "checksum") BitConverter.TryWriteBytes(bytes.AsSpan(56), XxHash64.HashToUInt64(bytes.AsSpan(0, 56)));
        File.WriteAllBytes(path, bytes);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
