using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Dataplane.Bgp.Rib;
using Dataplane.Bgp.Session;
using Dataplane.Bgp.Wire;

namespace Dataplane.Benchmarks.Bgp;

/// <summary>
/// <c>bgp-table [N]</c>: time to advertise a full table of N IPv4 /24s (default 1,048,576) to one GoBGP,
/// first from our speaker, then from BIRD 2 with the same prefixes, in the same run. gobgpd runs in one
/// namespace, BIRD in another; our speaker runs here, in the root namespace, on a veth into gobgpd's.
/// The clock runs from GoBGP showing the session Established (so BIRD's connect delay does not count)
/// to GoBGP's RIB holding all N paths from that speaker (<c>gobgp global rib summary</c>), both polled. The prefixes exist only in these daemons' RIBs (nothing is
/// installed in a kernel), on links numbered from 198.19.0.0/16. Needs root, gobgpd and bird2.
/// </summary>
internal static partial class FullTableRace
{
    public static int Run(string[] args)
    {
        int n = args.Length > 0 ? int.Parse(args[0]) : 1 << 20;
        var prefixes = Enumerable.Range(0, n).Select(i => (uint)(0x20000000 + (i << 8))).ToArray(); // 32.0.0.0/24 upward
        string tag = $"{Environment.ProcessId % 10000}";
        string nsG = $"dpbgp-g{tag}", nsB = $"dpbgp-b{tag}";
        int slot = Random.Shared.Next(0, 64) * 4;
        string Addr(int host) => $"198.19.{200 + slot / 256}.{slot % 256 + host}";
        string us = Addr(1), g1 = Addr(2), g2 = Addr(5), bird = Addr(6);
        string dir = Directory.CreateTempSubdirectory("dpbgp-race-").FullName;
        Process? gobgpd = null, birdd = null;
        try
        {
            Sh("ip", "netns", "add", nsG);
            Sh("ip", "netns", "add", nsB);
            Sh("ip", "link", "add", $"vr{tag}a", "type", "veth", "peer", "name", $"vr{tag}b");
            Sh("ip", "link", "set", $"vr{tag}b", "netns", nsG);
            Sh("ip", "addr", "add", $"{us}/30", "dev", $"vr{tag}a");
            Sh("ip", "link", "set", $"vr{tag}a", "up");
            Sh("ip", "link", "add", $"vs{tag}a", "netns", nsG, "type", "veth", "peer", "name", $"vs{tag}b", "netns", nsB);
            In(nsG, "ip", "addr", "add", $"{g1}/30", "dev", $"vr{tag}b");
            In(nsG, "ip", "addr", "add", $"{g2}/30", "dev", $"vs{tag}a");
            In(nsB, "ip", "addr", "add", $"{bird}/30", "dev", $"vs{tag}b");
            foreach (var (ns, dev) in new[] { (nsG, $"vr{tag}b"), (nsG, $"vs{tag}a"), (nsB, $"vs{tag}b"), (nsG, "lo"), (nsB, "lo") })
                In(ns, "ip", "link", "set", dev, "up");

            File.WriteAllText(Path.Combine(dir, "gobgpd.toml"), $"""
                [global.config]
                  as = 65100
                  router-id = "{g1}"
                  local-address-list = ["{g1}", "{g2}"]
                [[neighbors]]
                  [neighbors.config]
                    neighbor-address = "{us}"
                    peer-as = 65001
                  [neighbors.transport.config]
                    passive-mode = true
                [[neighbors]]
                  [neighbors.config]
                    neighbor-address = "{bird}"
                    peer-as = 65200
                  [neighbors.transport.config]
                    passive-mode = true
                """);
            var conf = new StringBuilder();
            conf.AppendLine($"router id {bird};\nprotocol device {{ }}\nprotocol static st {{ ipv4;");
            foreach (uint p in prefixes) conf.Append("route ").Append(new IPAddress(IPAddress.HostToNetworkOrder((int)p)).ToString()).AppendLine("/24 blackhole;");
            conf.AppendLine("}");
            conf.AppendLine($"protocol bgp g {{ disabled yes; local {bird} as 65200; neighbor {g2} as 65100; ipv4 {{ import none; export all; next hop self; }}; }}");
            File.WriteAllText(Path.Combine(dir, "bird.conf"), conf.ToString());

            gobgpd = Start(Path.Combine(dir, "gobgpd.log"), "ip", "netns", "exec", nsG, "gobgpd", "-f", Path.Combine(dir, "gobgpd.toml"));
            birdd = Start(Path.Combine(dir, "bird.log"), "ip", "netns", "exec", nsB, "bird", "-f", "-c", Path.Combine(dir, "bird.conf"), "-s", Path.Combine(dir, "bird.ctl"));
            WaitFor(() => Try("ip", "netns", "exec", nsG, "gobgp", "global").Code == 0, 30, "gobgpd up");
            WaitFor(() => Try("ip", "netns", "exec", nsB, "birdc", "-s", Path.Combine(dir, "bird.ctl"), "show", "status").Out.Contains("Daemon is up"), 600, "bird up (static table loaded)");
            Console.WriteLine($"bgp-table: {n:N0} IPv4 /24 prefixes → GoBGP 3.10 (one run each, this machine)");

            // Ours.
            var speaker = new BgpSpeaker(new SpeakerConfig(65001, IPAddress.Parse(us)) { Listen = null });
            speaker.Start();
            var routes = prefixes.Select(p => new LocalRoute(new BgpPrefix(new IPAddress(IPAddress.HostToNetworkOrder((int)p)), 24))).ToArray();
            speaker.Announce(routes);
            speaker.AddPeer(new PeerConfig(IPAddress.Parse(g1), 65100) { LocalAddress = IPAddress.Parse(us), ConnectRetry = TimeSpan.FromSeconds(1) });
            WaitFor(() => Established(nsG, us), 60, "our session established");
            var sw = Stopwatch.StartNew();
            WaitFor(() => Paths(nsG) >= n, 1800, "GoBGP has our table");
            var ours = sw.Elapsed;
            Console.WriteLine($"  Dataplane.Bgp: {ours.TotalSeconds,7:F2} s  ({n / ours.TotalSeconds:N0} prefixes/s)");
            speaker.StopAsync().Wait(TimeSpan.FromSeconds(10));
            WaitFor(() => Paths(nsG) == 0, 600, "GoBGP flushed our table");

            // BIRD.
            Sh("ip", "netns", "exec", nsB, "birdc", "-s", Path.Combine(dir, "bird.ctl"), "enable", "g");
            WaitFor(() => Established(nsG, bird), 60, "BIRD's session established");
            sw.Restart();
            WaitFor(() => Paths(nsG) >= n, 1800, "GoBGP has BIRD's table");
            var birds = sw.Elapsed;
            Console.WriteLine($"  BIRD 2.0.12:   {birds.TotalSeconds,7:F2} s  ({n / birds.TotalSeconds:N0} prefixes/s)");
            return 0;
        }
        finally
        {
            Kill(gobgpd);
            Kill(birdd);
            Try("ip", "netns", "del", nsG);
            Try("ip", "netns", "del", nsB);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int Paths(string nsG)
    {
        var m = PathCount().Match(Try("ip", "netns", "exec", nsG, "gobgp", "global", "rib", "summary", "-a", "ipv4").Out);
        return m.Success ? int.Parse(m.Groups[1].Value) : -1;
    }

    private static bool Established(string nsG, string neighbor) =>
        Try("ip", "netns", "exec", nsG, "gobgp", "neighbor").Out.Split('\n').Any(l => l.Contains(neighbor) && l.Contains("Establ"));

    [GeneratedRegex(@"Path: (\d+)")]
    private static partial Regex PathCount();

    private static void WaitFor(Func<bool> cond, int seconds, string what)
    {
        var end = DateTime.UtcNow.AddSeconds(seconds);
        while (!cond())
        {
            if (DateTime.UtcNow > end) throw new TimeoutException($"bgp-table: timed out waiting for {what}");
            Thread.Sleep(20);
        }
    }

    private static (int Code, string Out) Try(params string[] cmd)
    {
        var psi = new ProcessStartInfo(cmd[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in cmd[1..]) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000)) { p.Kill(true); return (-1, ""); }
        return (p.ExitCode, o.Result);
    }

    private static void Sh(params string[] cmd)
    {
        var (code, _) = Try(cmd);
        if (code != 0) throw new InvalidOperationException($"bgp-table: {string.Join(' ', cmd)} failed ({code})");
    }

    private static void In(string ns, params string[] cmd) => Sh(["ip", "netns", "exec", ns, .. cmd]);

    private static Process Start(string log, params string[] cmd)
    {
        var psi = new ProcessStartInfo("sh") { RedirectStandardOutput = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$@\" >\"$0\" 2>&1");
        psi.ArgumentList.Add(log);
        foreach (var a in cmd) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static void Kill(Process? p)
    {
        if (p is null) return;
        try { if (!p.HasExited) { p.Kill(entireProcessTree: true); p.WaitForExit(5000); } } catch (InvalidOperationException) { }
        p.Dispose();
    }
}
