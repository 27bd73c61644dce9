using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dataplane.Linux;
using Dataplane.Linux.WireGuard;
using Dataplane.Testing.Netns;
using Dataplane.Testing.Processes;
using Dataplane.WireGuard.Crypto;
using Dataplane.WireGuard.Device;

namespace Dataplane.Benchmarks.WireGuard;

/// <summary>
/// `wg-throughput [seconds] [rounds]`: TCP through a WireGuard tunnel between two namespaces on one veth, ours ↔ ours
/// (two <see cref="WireGuardTunnel"/>s) against wireguard-go ↔ wireguard-go, in the same run, rounds interleaved so
/// both see the same machine; prints Gbit/s per round, the medians and their ratio. Needs root, wireguard-go, wg.
/// </summary>
public static class WireGuardThroughput
{
    public static int Run(string[] args)
    {
        int seconds = args.Length > 0 ? int.Parse(args[0]) : 5;
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
        using var set = new NetnsSet("wgt");
        string a = set.Add("a"), b = set.Add("b");
        set.Veth($"wta{set.Suffix}", a, $"wtb{set.Suffix}", b);
        Sh.Must("ip", "-n", a, "addr", "add", "198.18.230.1/24", "dev", $"wta{set.Suffix}");
        Sh.Must("ip", "-n", b, "addr", "add", "198.18.230.2/24", "dev", $"wtb{set.Suffix}");
        Sh.Must("ip", "-n", a, "link", "set", $"wta{set.Suffix}", "up");
        Sh.Must("ip", "-n", b, "link", "set", $"wtb{set.Suffix}", "up");

        // Ours: UDP 51871, inner 198.18.231.0/24.
        var ka = WgKey.GeneratePrivate();
        var kb = WgKey.GeneratePrivate();
        var ta = set.Own(WireGuardTunnel.Create($"oa{set.Suffix}", ka, 51871, a));
        var tb = set.Own(WireGuardTunnel.Create($"ob{set.Suffix}", kb, 51871, b));
        ta.Device.SetPeers([new PeerConfig(kb.PublicKey(), [IPNetwork.Parse("198.18.231.2/32")], new IPEndPoint(IPAddress.Parse("198.18.230.2"), 51871))]);
        tb.Device.SetPeers([new PeerConfig(ka.PublicKey(), [IPNetwork.Parse("198.18.231.1/32")], new IPEndPoint(IPAddress.Parse("198.18.230.1"), 51871))]);
        Inner(a, ta.Name, "198.18.231.1", "198.18.231.2");
        Inner(b, tb.Name, "198.18.231.2", "198.18.231.1");

        // wireguard-go: UDP 51872, inner 198.18.232.0/24.
        string ga = $"ga{set.Suffix}", gb = $"gb{set.Suffix}";
        set.Start(a, "env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", "-f", ga);
        set.Start(b, "env", "WG_PROCESS_FOREGROUND=1", "wireguard-go", "-f", gb);
        for (int i = 0; i < 100 && !(Sh.Run("ip", "-n", a, "link", "show", ga).Ok && Sh.Run("ip", "-n", b, "link", "show", gb).Ok); i++) Thread.Sleep(100);
        var dir = set.Dir("keys");
        var pa = WgKey.GeneratePrivate();
        var pb = WgKey.GeneratePrivate();
        File.WriteAllText(Path.Combine(dir, "a"), pa.ToBase64());
        File.WriteAllText(Path.Combine(dir, "b"), pb.ToBase64());
        NetnsSet.Must(a, "wg", "set", ga, "private-key", Path.Combine(dir, "a"), "listen-port", "51872", "peer", pb.PublicKey().ToBase64(),
            "allowed-ips", "198.18.232.2/32", "endpoint", "198.18.230.2:51872");
        NetnsSet.Must(b, "wg", "set", gb, "private-key", Path.Combine(dir, "b"), "listen-port", "51872", "peer", pa.PublicKey().ToBase64(),
            "allowed-ips", "198.18.232.1/32", "endpoint", "198.18.230.1:51872");
        Inner(a, ga, "198.18.232.1", "198.18.232.2");
        Inner(b, gb, "198.18.232.2", "198.18.232.1");

        var ours = new List<double>();
        var theirs = new List<double>();
        Console.WriteLine($"wg-throughput: TCP b → a for {seconds} s per run, {rounds} round(s), MTU 1420 inside, {Environment.ProcessorCount} CPU(s)");
        for (int r = 0; r < rounds; r++)
        {
            ours.Add(Measure(a, b, "198.18.231.1", seconds));
            theirs.Add(Measure(a, b, "198.18.232.1", seconds));
            Console.WriteLine($"  round {r + 1}: ours {ours[^1]:F2} Gbit/s, wireguard-go {theirs[^1]:F2} Gbit/s");
        }
        double mo = Median(ours), mt = Median(theirs);
        Console.WriteLine($"median: ours {mo:F2} Gbit/s, wireguard-go {mt:F2} Gbit/s, ratio ours/wireguard-go {mo / mt:F2}");
        return 0;
    }

    private static void Inner(string ns, string dev, string ip, string remote)
    {
        Sh.Must("ip", "-n", ns, "link", "set", dev, "mtu", "1420", "up");
        Sh.Must("ip", "-n", ns, "addr", "add", $"{ip}/32", "dev", dev);
        Sh.Must("ip", "-n", ns, "route", "add", $"{remote}/32", "dev", dev);
    }

    /// <summary>One TCP stream b → a through the tunnel for <paramref name="seconds"/>: Gbit/s the receiver counted.</summary>
    private static double Measure(string nsA, string nsB, string serverIp, int seconds)
    {
        var listener = NetNamespace.Run(nsA, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Parse(serverIp), 5201));
            s.Listen(1);
            return s;
        });
        long received = 0;
        double elapsed = 0;
        var server = new Thread(() =>
        {
            using var c = listener.Accept();
            var buf = new byte[1 << 20];
            var sw = Stopwatch.StartNew();
            int n;
            while ((n = c.Receive(buf)) > 0) received += n;
            elapsed = sw.Elapsed.TotalSeconds;
        });
        server.Start();
        using (var client = NetNamespace.Run(nsB, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)))
        {
            client.SendTimeout = 10_000;
            client.Connect(new IPEndPoint(IPAddress.Parse(serverIp), 5201));
            var buf = new byte[1 << 20];
            var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
            while (Stopwatch.GetTimestamp() < until) client.Send(buf);
            client.Shutdown(SocketShutdown.Send);
        }
        server.Join(TimeSpan.FromSeconds(30));
        listener.Dispose();
        return received * 8 / elapsed / 1e9;
    }

    private static double Median(List<double> x)
    {
        var s = x.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
