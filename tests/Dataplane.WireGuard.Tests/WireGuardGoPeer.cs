using System.Net;
using Dataplane.Linux.WireGuard;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Device;
using Dataplane.WireGuard.Peers;

namespace Dataplane.WireGuard.Tests;

/// <summary>
/// Our tunnel and a real wireguard-go, each in a namespace of its own, joined by a veth underlay:
/// ours 198.18.200.1 ── 198.18.200.2 peer (UDP 51871 both). Inside the tunnel: ours 198.18.201.1 / fd00:201::1
/// on our TUN device, the peer 198.18.201.2 / fd00:201::2 on wireguard-go's. No route joins the inner addresses
/// except the tunnel, so every inner packet crossed both implementations. Unique names; Dispose cleans up.
/// </summary>
internal sealed class WireGuardGoPeer : IDisposable
{
    public const string OurUnderlay = "198.18.200.1", PeerUnderlay = "198.18.200.2";
    public const string OurInner4 = "198.18.201.1", PeerInner4 = "198.18.201.2", OurInner6 = "fd00:201::1", PeerInner6 = "fd00:201::2";
    public const ushort Port = 51871;

    private readonly NetnsSet _set = new("wgi");
    public string OurNs { get; }
    public string PeerNs { get; }
    public string PeerDevice { get; }
    public WgKey PeerPrivate { get; }
    public WgKey PeerPublic { get; }
    public WireGuardTunnel Ours { get; }

    /// <param name="ourKeyForPeer">The key we believe the peer has (a wrong one makes its handshakes unknown to us).</param>
    public WireGuardGoPeer(WireGuardTimers? timers = null, bool wrongPeerKeyOnOurSide = false)
    {
        Requires.RootAnd("ip", "ping", "python3", "wireguard-go", "wg");
        Skip.IfNot(File.Exists("/dev/net/tun"), "needs /dev/net/tun (TUN devices) for wireguard-go and our tunnel");
        try
        {
            OurNs = _set.Add("o");
            PeerNs = _set.Add("p");
            PeerDevice = $"wgp{_set.Suffix}";
            string ourVeth = $"vo{_set.Suffix}", peerVeth = $"vp{_set.Suffix}";
            _set.Veth(ourVeth, OurNs, peerVeth, PeerNs);
            Sh.Must("ip", "-n", OurNs, "addr", "add", $"{OurUnderlay}/24", "dev", ourVeth);
            Sh.Must("ip", "-n", PeerNs, "addr", "add", $"{PeerUnderlay}/24", "dev", peerVeth);
            Sh.Must("ip", "-n", OurNs, "link", "set", ourVeth, "up");
            Sh.Must("ip", "-n", PeerNs, "link", "set", peerVeth, "up");

            // The peer's key from wireguard-tools; its public half must be what our X25519 derives.
            PeerPrivate = WgKey.Parse(Sh.Must("wg", "genkey").Trim());
            string peerPub = Sh.Run(TimeSpan.FromSeconds(10), "wg", ["pubkey"], stdin: PeerPrivate.ToBase64() + "\n").Stdout.Trim();
            PeerPublic = WgKey.Parse(peerPub);
            Assert.Equal(PeerPublic, PeerPrivate.PublicKey());

            // wireguard-go in the foreground (a child we can kill), its TUN device in the peer namespace.
            var wgGo = _set.Start(PeerNs, "env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", "-f", PeerDevice);
            Eventually(() => Sh.Run("ip", "-n", PeerNs, "link", "show", PeerDevice).Ok, $"wireguard-go made no {PeerDevice}:\n{wgGo.Output}");

            var ourKey = WgKey.GeneratePrivate();
            Ours = _set.Own(WireGuardTunnel.Create($"wgo{_set.Suffix}", ourKey, Port, OurNs, timers));
            var dir = _set.Dir("keys");
            string keyFile = Path.Combine(dir, "peer.key");
            File.WriteAllText(keyFile, PeerPrivate.ToBase64() + "\n");
            Sh.Must("ip", "netns", "exec", PeerNs, "wg", "set", PeerDevice, "private-key", keyFile, "listen-port", Port.ToString(),
                "peer", ourKey.PublicKey().ToBase64(), "allowed-ips", $"{OurInner4}/32,{OurInner6}/128", "endpoint", $"{OurUnderlay}:{Port}");
            Inner(PeerNs, PeerDevice, PeerInner4, PeerInner6, OurInner4, OurInner6);
            Inner(OurNs, Ours.Name, OurInner4, OurInner6, PeerInner4, PeerInner6);

            var peerKeyWeUse = wrongPeerKeyOnOurSide ? WgKey.GeneratePrivate().PublicKey() : PeerPublic;
            Ours.Device.SetPeers([new PeerConfig(peerKeyWeUse, [IPNetwork.Parse($"{PeerInner4}/32"), IPNetwork.Parse($"{PeerInner6}/128")],
                new IPEndPoint(IPAddress.Parse(PeerUnderlay), Port))]);
        }
        catch { Dispose(); throw; }
    }

    /// <summary>The tunnel device's address and a host route to the other side through it (MTU as wg-quick sets it).</summary>
    private static void Inner(string ns, string dev, string ip4, string ip6, string remote4, string remote6)
    {
        Sh.Must("ip", "-n", ns, "link", "set", dev, "mtu", "1420", "up");
        Sh.Must("ip", "-n", ns, "addr", "add", $"{ip4}/32", "dev", dev);
        Sh.Must("ip", "-n", ns, "addr", "add", $"{ip6}/128", "dev", dev, "nodad");
        Sh.Must("ip", "-n", ns, "route", "add", $"{remote4}/32", "dev", dev);
        Sh.Must("ip", "-n", ns, "route", "add", $"{remote6}/128", "dev", dev);
    }

    public Sh.Result Exec(string ns, TimeSpan timeout, params string[] cmd) => _set.Exec(ns, timeout, cmd);
    public Background Start(string ns, params string[] cmd) => _set.Start(ns, cmd);

    /// <summary>`wg show DEV dump` in the peer namespace: the peer line for our key (tab-separated, as wg prints it).</summary>
    public string[] PeerLineForUs()
    {
        var dump = Sh.Must("ip", "netns", "exec", PeerNs, "wg", "show", PeerDevice, "dump");
        var ours = Ours.Device.PublicKey.ToBase64();
        return dump.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).FirstOrDefault(f => f[0] == ours)
            ?? throw new Xunit.Sdk.XunitException($"wg show lists no peer {ours}:\n{dump}");
    }

    public string Diagnostics()
    {
        var lines = Ours.Device.Counters().Where(c => c.Value != 0).Select(c => $"{c.Counter}={c.Value}");
        return $"ours: {string.Join(' ', lines)} tunWriteErrors={Ours.TunWriteErrors}\n" +
               Sh.Run("ip", "netns", "exec", PeerNs, "wg", "show", PeerDevice).Output;
    }

    public static void Eventually(Func<bool> condition, string message, int seconds = 10)
    {
        for (int i = 0; i < seconds * 10; i++)
        {
            if (condition()) return;
            Thread.Sleep(100);
        }
        Assert.Fail(message);
    }

    public void Dispose() => _set.Dispose();
}
