using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Peers;

namespace Dataplane.WireGuard.Tests;

/// <summary>Two of our devices in memory: the handshake, transport, replays and forgeries, and the cookie exchange under load.</summary>
public sealed class DevicePairTests
{
    private static readonly WireGuardTimers Fast = new() { RekeyTimeout = TimeSpan.FromMilliseconds(300) };

    /// <summary>Pumps until <paramref name="done"/> holds (bounded: 10 s).</summary>
    private static void PumpUntil(InMemoryPair pair, Func<bool> done)
    {
        for (int i = 0; i < 200 && !done(); i++) { pair.Pump(); Thread.Sleep(50); }
        Assert.True(done(), "condition not reached; A: " + Describe(pair.A) + " B: " + Describe(pair.B));
    }

    private static string Describe(WireGuardDevice d) => string.Join(' ', d.Counters().Where(c => c.Value != 0).Select(c => $"{c.Counter}={c.Value}"));

    [Fact]
    public void FirstPacketIsStagedHandshakeCompletesAndItArrives()
    {
        using var pair = new InMemoryPair(Fast);
        var packet = InMemoryPair.Ipv4("198.18.10.1", "198.18.10.2", 100);
        Assert.Null(InMemoryPair.Encrypt(pair.A, packet, out var v));
        Assert.Equal(WgVerdict.Staged, v);
        var arrived = new List<byte[]>();
        PumpUntil(pair, () => { arrived.AddRange(pair.Pump().AtB); return arrived.Count > 0; });
        Assert.Equal(packet, arrived[0]);
        Assert.Equal(1, pair.A.Counter(WgCounter.HandshakesCompleted));
        Assert.Equal(1, pair.B.Counter(WgCounter.HandshakesCompleted));

        // Now both directions go at once, padded to 16 bytes on the wire and back to their own length inside.
        var reply = InMemoryPair.Ipv4("198.18.10.2", "198.18.10.1", 33);
        var wire = InMemoryPair.Encrypt(pair.B, reply, out v);
        Assert.Equal(WgVerdict.Send, v);
        Assert.Equal(16 + 64 + 16, wire!.Length);
        Assert.Equal(reply, Assert.Single(InMemoryPair.Deliver(pair.A, wire, InMemoryPair.EndB)));
    }

    [Fact]
    public void ReplayedAndForgedTransportMessagesAreDroppedAndCounted()
    {
        using var pair = new InMemoryPair(Fast);
        InMemoryPair.Encrypt(pair.A, InMemoryPair.Ipv4("198.18.10.1", "198.18.10.2", 10), out _);
        PumpUntil(pair, () => pair.A.Peers[0].LastHandshake is not null && pair.B.Peers[0].LastHandshake is not null);
        pair.Pump();
        var wire = InMemoryPair.Encrypt(pair.A, InMemoryPair.Ipv4("198.18.10.1", "198.18.10.2", 200), out _)!;
        Assert.Single(InMemoryPair.Deliver(pair.B, wire, InMemoryPair.EndA));
        Assert.Empty(InMemoryPair.Deliver(pair.B, wire, InMemoryPair.EndA));
        Assert.Equal(1, pair.B.Counter(WgCounter.DropReplay));

        var forged = InMemoryPair.Encrypt(pair.A, InMemoryPair.Ipv4("198.18.10.1", "198.18.10.2", 200), out _)!;
        forged[40] ^= 1;
        Assert.Empty(InMemoryPair.Deliver(pair.B, forged, InMemoryPair.EndA));
        Assert.Equal(1, pair.B.Counter(WgCounter.DropDecrypt));

        // A source outside the sender's allowed IPs is refused after decryption (cryptokey routing).
        var spoofed = InMemoryPair.Encrypt(pair.A, InMemoryPair.Ipv4("198.18.99.9", "198.18.10.2", 20), out _)!;
        Assert.Empty(InMemoryPair.Deliver(pair.B, spoofed, InMemoryPair.EndA));
        Assert.Equal(1, pair.B.Counter(WgCounter.DropNotAllowedSource));
    }

    [Fact]
    public void UnderLoadAnInitiationWithoutMac2GetsACookieAndTheRetryWithItSucceeds()
    {
        using var pair = new InMemoryPair(Fast);
        pair.B.AssumeUnderLoad(TimeSpan.FromSeconds(30));
        InMemoryPair.Encrypt(pair.A, InMemoryPair.Ipv4("198.18.10.1", "198.18.10.2", 10), out _);
        PumpUntil(pair, () => pair.A.Counter(WgCounter.HandshakesCompleted) == 1);
        Assert.True(pair.B.Counter(WgCounter.CookieRepliesSent) >= 1);
        Assert.True(pair.B.Counter(WgCounter.DropUnderLoadNoCookie) >= 1);
        Assert.True(pair.A.Counter(WgCounter.CookieRepliesAccepted) >= 1);
        Assert.Equal(1, pair.B.Counter(WgCounter.HandshakesCompleted));
    }

    [Fact]
    public void AReplayedInitiationIsRefused()
    {
        using var pair = new InMemoryPair(Fast);
        InMemoryPair.Encrypt(pair.A, InMemoryPair.Ipv4("198.18.10.1", "198.18.10.2", 10), out _);
        PumpUntil(pair, () => !pair.WireA.Sent.IsEmpty);
        Assert.True(pair.WireA.Sent.TryPeek(out var initiation));
        pair.Pump();
        PumpUntil(pair, () => pair.B.Counter(WgCounter.HandshakesCompleted) == 1);
        InMemoryPair.Deliver(pair.B, initiation.Data, InMemoryPair.EndA);
        PumpUntil(pair, () => pair.B.Counter(WgCounter.DropHandshakeReplay) == 1);
        Assert.Equal(1, pair.B.Counter(WgCounter.HandshakesCompleted));
    }
}
