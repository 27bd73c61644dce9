using System.Text.RegularExpressions;
using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Peers;
using Xunit.Abstractions;

namespace Dataplane.WireGuard.Tests;

/// <summary>
/// Our WireGuard against Debian's wireguard-go (a real peer, in a namespace): handshakes started by either side,
/// ping and a multi-MB TCP transfer through the tunnel in both address families, the peer's `wg show` listing
/// our endpoint and a recent handshake, rekeying under shortened timers without losing a packet of a running
/// stream, and a wrong key: no traffic, a counted drop.
/// </summary>
public sealed partial class WireGuardGoInteropTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20), Long = TimeSpan.FromSeconds(60);
    private static string Echo => Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");
    private const int BulkBytes = 4 << 20;

    [SkippableFact]
    public void WireGuardGoInitiatesPingAndBulkTcpCrossTheTunnel()
    {
        using var t = new WireGuardGoPeer();
        try
        {
            Ping(t, t.PeerNs, WireGuardGoPeer.OurInner4);
            Ping(t, t.PeerNs, WireGuardGoPeer.OurInner6);
            Assert.Equal(0, t.Ours.Device.Counter(WgCounter.HandshakeInitiationsSent));
            Assert.True(t.Ours.Device.Counter(WgCounter.HandshakeResponsesSent) >= 1);
            Bulk(t, serverNs: t.OurNs, clientNs: t.PeerNs, WireGuardGoPeer.OurInner4);
            Bulk(t, serverNs: t.PeerNs, clientNs: t.OurNs, WireGuardGoPeer.PeerInner6);

            // The peer's view: our endpoint, a handshake within the last minute, bytes both ways.
            var f = t.PeerLineForUs();
            Assert.Equal($"{WireGuardGoPeer.OurUnderlay}:{WireGuardGoPeer.Port}", f[2]);
            long handshake = long.Parse(f[4]);
            Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - handshake, 0, 60);
            Assert.True(long.Parse(f[5]) > BulkBytes && long.Parse(f[6]) > BulkBytes, string.Join(' ', f));

            var peer = Assert.Single(t.Ours.Device.Peers);
            Assert.NotNull(peer.LastHandshake);
            Assert.Equal($"{WireGuardGoPeer.PeerUnderlay}:{WireGuardGoPeer.Port}", peer.Endpoint.ToString());
            Assert.True(peer.RxBytes > BulkBytes && peer.TxBytes > BulkBytes);
            Assert.Equal(0, t.Ours.Device.Counter(WgCounter.DropDecrypt));
            Assert.Equal(0, t.Ours.Device.Counter(WgCounter.DropReplay));
            output.WriteLine(t.Diagnostics());
        }
        catch { output.WriteLine(t.Diagnostics()); throw; }
    }

    /// <summary>We initiate; with Rekey-After-Time shortened to 2 s (Rekey-Timeout 1 s) a 6-second ping stream sees several new sessions and loses nothing.</summary>
    [SkippableFact]
    public void WeInitiateAndRekeyWithoutLosingTheStream()
    {
        var timers = new WireGuardTimers { RekeyAfterTime = TimeSpan.FromSeconds(2), RekeyTimeout = TimeSpan.FromSeconds(1), RejectAfterTime = TimeSpan.FromSeconds(20) };
        using var t = new WireGuardGoPeer(timers);
        try
        {
            Ping(t, t.OurNs, WireGuardGoPeer.PeerInner4);
            Assert.True(t.Ours.Device.Counter(WgCounter.HandshakeInitiationsSent) >= 1);
            long before = t.Ours.Device.Counter(WgCounter.HandshakesCompleted);
            var r = t.Exec(t.OurNs, Short, "ping", "-c", "60", "-i", "0.1", "-W", "2", WireGuardGoPeer.PeerInner4);
            output.WriteLine(r.Output);
            Assert.True(r.Ok && r.Output.Contains(" 0% packet loss"), r.Output);
            long rekeys = t.Ours.Device.Counter(WgCounter.HandshakesCompleted) - before;
            Assert.True(rekeys >= 2, $"expected rekeys during the stream, saw {rekeys}\n{t.Diagnostics()}");
            Bulk(t, serverNs: t.PeerNs, clientNs: t.OurNs, WireGuardGoPeer.PeerInner4);
            Assert.Equal(0, t.Ours.Device.Counter(WgCounter.DropDecrypt));
            output.WriteLine(t.Diagnostics());
        }
        catch { output.WriteLine(t.Diagnostics()); throw; }
    }

    /// <summary>We hold a wrong public key for the peer: its initiations name a peer we do not know — dropped and counted, nothing crosses.</summary>
    [SkippableFact]
    public void AWrongKeyPassesNoTrafficAndIsCounted()
    {
        using var t = new WireGuardGoPeer(wrongPeerKeyOnOurSide: true);
        var r = t.Exec(t.PeerNs, Short, "ping", "-c", "3", "-i", "0.3", "-W", "1", WireGuardGoPeer.OurInner4);
        Assert.False(r.Ok, r.Output);
        Assert.Contains("100% packet loss", r.Output);
        WireGuardGoPeer.Eventually(() => t.Ours.Device.Counter(WgCounter.DropUnknownPeer) >= 1, "no counted drop:\n" + t.Diagnostics());
        Assert.Equal(0, t.Ours.Device.Counter(WgCounter.HandshakesCompleted));
        Assert.Equal("0", t.PeerLineForUs()[4]);
        output.WriteLine(t.Diagnostics());
    }

    private static void Ping(WireGuardGoPeer t, string ns, string ip)
    {
        // The first echo waits for the handshake; three bounded tries.
        Sh.Result r = default!;
        for (int i = 0; i < 3; i++)
        {
            r = t.Exec(ns, Short, "ping", "-c", "3", "-i", "0.2", "-W", "3", ip);
            if (r.Ok && r.Output.Contains(" 0% packet loss")) return;
        }
        Assert.Fail($"ping {ip} from {ns}: {r.Output}\n{t.Diagnostics()}");
    }

    private static void Bulk(WireGuardGoPeer t, string serverNs, string clientNs, string ip)
    {
        var server = t.Start(serverNs, "python3", Echo, "bulk-server", "5003");
        Assert.True(server.WaitFor("listening", Short), server.Output);
        var r = t.Exec(clientNs, Long, "python3", Echo, "bulk-client", ip, "5003", BulkBytes.ToString());
        var sent = SentRegex().Match(r.Output);
        var got = GotRegex().Match(r.Output);
        Assert.True(r.Ok && sent.Success && got.Success, $"bulk TCP to {ip}: {r.Output}\n{t.Diagnostics()}");
        Assert.Equal(BulkBytes.ToString(), got.Groups[1].Value);
        Assert.Equal(sent.Groups[1].Value, got.Groups[2].Value);
        server.Dispose();
    }

    [GeneratedRegex(@"sent \d+ ([0-9a-f]{64})")]
    private static partial Regex SentRegex();

    [GeneratedRegex(@"got (\d+) ([0-9a-f]{64})")]
    private static partial Regex GotRegex();
}
