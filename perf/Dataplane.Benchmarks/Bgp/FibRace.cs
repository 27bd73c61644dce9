using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Dataplane.Testing.Netns;
using Dataplane.Testing.Processes;

namespace Dataplane.Benchmarks.Bgp;

/// <summary>
/// <c>bgp-fib [N]</c>: BGP to forwarding. One BIRD (the on-prem router, namespace S) holds N IPv6 /52s of
/// 2001:db8::/32 (default 1 048 576, all of them) and announces them over eBGP, in turn, to
/// <list type="bullet">
/// <item><c>dataplane-gateway run</c> (namespace G, af_packet backend): clock stops when the gateway logs that it
/// applied a datapath snapshot holding all N learned routes — from then on its LPM forwards them;</item>
/// <item>a second BIRD exporting what it learns into its Linux kernel FIB (namespace K): clock stops when BIRD's
/// kernel protocol has exported all N (BIRD writes each route with a netlink request it waits the ACK of), then the
/// kernel's table is counted to check it.</item>
/// </list>
/// Each clock starts when S shows that session Established, so connect back-off does not count; the other session
/// is disabled meanwhile. Links are numbered from fd00::/8 and 198.18.0.0/15. Needs root, bird2 and the gateway
/// built next to this program.
/// </summary>
internal static partial class FibRace
{
    private const string SrcToKernel = "fd00:f1b::1", KernelSide = "fd00:f1b::2", SrcToGateway = "fd00:f1c::1", GatewaySide = "fd00:f1c::2";

    public static int Run(string[] args)
    {
        int n = args.Length > 0 ? int.Parse(args[0]) : 1 << 20;
        if (n is < 1 or > 1 << 20) throw new ArgumentOutOfRangeException(nameof(args), "N is 1 … 1 048 576 (/52s of 2001:db8::/32)");
        using var set = new NetnsSet("dpfib");
        string s = set.Add("s"), k = set.Add("k"), g = set.Add("g"), m = set.Add("m");
        string gop = $"gop{set.Suffix}", gms = $"gms{set.Suffix}";
        set.Veth($"sk{set.Suffix}", s, "eth0", k);
        set.Veth($"sg{set.Suffix}", s, gop, g);
        set.Veth(gms, g, "eth0", m);
        Sh.Must("ip", "-n", s, "addr", "add", $"{SrcToKernel}/64", "dev", $"sk{set.Suffix}", "nodad");
        Sh.Must("ip", "-n", s, "addr", "add", $"{SrcToGateway}/64", "dev", $"sg{set.Suffix}", "nodad");
        Sh.Must("ip", "-n", k, "addr", "add", $"{KernelSide}/64", "dev", "eth0", "nodad");
        // The gateway's on-prem address is its kernel's too: the BGP session is the agent's own TCP connection.
        Sh.Must("ip", "-n", g, "addr", "add", $"{GatewaySide}/64", "dev", gop, "nodad");
        Sh.Must("ip", "-n", m, "addr", "add", "198.18.201.2/24", "dev", "eth0");
        foreach (var (ns, dev) in new[] { (s, $"sk{set.Suffix}"), (s, $"sg{set.Suffix}"), (k, "eth0"), (g, gop), (g, gms), (m, "eth0") })
            Sh.Must("ip", "-n", ns, "link", "set", dev, "up");   // default offloads, as the devices come
        foreach (var ns in new[] { s, k, g }) Sh.Must("ip", "-n", ns, "link", "set", "lo", "up");

        string dir = set.Dir("cfg"), gwConfig = set.Dir("gw");
        File.WriteAllText(Path.Combine(dir, "source.conf"), SourceBird(n));
        File.WriteAllText(Path.Combine(dir, "kernel.conf"), $$"""
            router id 198.18.200.2;
            protocol device { }
            protocol kernel fib { ipv6 { import none; export all; }; }
            protocol bgp upstream { local {{KernelSide}} as 65200; neighbor {{SrcToKernel}} as 65100; ipv6 { import all; export none; }; }
            """);
        File.WriteAllText(Path.Combine(gwConfig, "gateway.yaml"), GatewayYaml(gop, gms, NetnsSet.Mac(g, gop), NetnsSet.Mac(g, gms)));
        string srcCtl = Path.Combine(dir, "s.ctl"), kerCtl = Path.Combine(dir, "k.ctl");

        var loading = Stopwatch.StartNew();
        var source = set.Start(s, "bird", "-f", "-c", Path.Combine(dir, "source.conf"), "-s", srcCtl);
        WaitFor(() => RouteCount().Match(Birdc(set, s, srcCtl, "show", "route", "count").Stdout) is { Success: true } c && int.Parse(c.Groups[1].Value) >= n,
            900, "the source BIRD loaded its table", source);
        Console.WriteLine($"bgp-fib: {n:N0} IPv6 /52s from one BIRD 2 to each target in turn (source loaded in {loading.Elapsed.TotalSeconds:F1} s)");

        // Ours: dataplane-gateway learns them and installs them in its LPM. PERF=DIR: `perf record` of the gateway from
        // its session's Established until it applied every route, into DIR/gateway.perf.data (JIT frames named through
        // the runtime's perf map, /tmp/perf-PID.map, which needs W^X off: with it, JIT code runs from a memfd mapping
        // the map's addresses do not name): `perf report -i DIR/gateway.perf.data --no-children`.
        string? perfDir = Environment.GetEnvironmentVariable("PERF");
        if (perfDir is not null)
        {
            Environment.SetEnvironmentVariable("DOTNET_PerfMapEnabled", "1");
            Environment.SetEnvironmentVariable("DOTNET_EnableWriteXorExecute", "0");
        }
        string gwDll = Path.Combine(AppContext.BaseDirectory, "dataplane-gateway.dll");
        var gw = set.Start(g, "dotnet", gwDll, "run", "--config", gwConfig, "--backend", "af_packet", "--socket", Path.Combine(gwConfig, "gw.sock"));
        if (!gw.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(120))) throw new InvalidOperationException("gateway did not start:\n" + gw.Output);
        Birdc(set, s, srcCtl, "enable", "g");
        WaitFor(() => Established(set, s, srcCtl, "g"), 120, "the gateway's session established", gw);
        using var perf = perfDir is null ? null
            : new Background(logFile: null, file: "perf", args: ["record", "-F", "499", "-g", "-p", gw.Pid.ToString(), "-o", Path.Combine(perfDir, "gateway.perf.data")]);
        var sw = Stopwatch.StartNew();
        WaitFor(() => Applied(gw.Output) >= n, 1800, "the gateway applied every route", gw);
        var ours = sw.Elapsed;
        if (perf is not null) { perf.Signal(Sh.SIGINT); perf.WaitForExit(TimeSpan.FromSeconds(60)); }
        long gwRss = RssKiB(gw.Pid);
        Console.WriteLine($"  dataplane-gateway (BGP → LPM, snapshot swapped): {ours.TotalSeconds,7:F2} s  ({n / ours.TotalSeconds:N0} routes/s), RSS {gwRss / 1024:N0} MiB");
        if (Environment.GetEnvironmentVariable("VERBOSE") == "1") Console.WriteLine(gw.Output);
        // What a user sees of a full table: the count and the first routes, not a million lines.
        // A gateway busy (or starved on a loaded machine) answers late: the verb's 10 s timeout is retried, bounded.
        var status = Sh.Run(TimeSpan.FromSeconds(120), "dotnet", gwDll, "status", "--socket", Path.Combine(gwConfig, "gw.sock"));
        for (int retry = 0; retry < 5 && status.Output.Contains("no agent answers", StringComparison.Ordinal); retry++)
            status = Sh.Run(TimeSpan.FromSeconds(120), "dotnet", gwDll, "status", "--socket", Path.Combine(gwConfig, "gw.sock"));
        if (status.Output.Contains("no agent answers", StringComparison.Ordinal))
            Console.WriteLine("  (the gateway's status did not answer within its timeout on this machine: not checked)");
        else if (!status.Ok || !status.Output.Contains($"  {n} learned route(s)", StringComparison.Ordinal) || status.Output.Split('\n').Length > 200)
            throw new InvalidOperationException($"bgp-fib: the gateway's status does not summarise its {n} learned routes:\n{status.Output[..Math.Min(4000, status.Output.Length)]}");
        Birdc(set, s, srcCtl, "disable", "g");

        // The kernel: BIRD learns them and exports them into the FIB.
        var kernel = set.Start(k, "bird", "-f", "-c", Path.Combine(dir, "kernel.conf"), "-s", kerCtl);
        WaitFor(() => Birdc(set, k, kerCtl, "show", "status").Stdout.Contains("Daemon is up", StringComparison.Ordinal), 60, "the kernel-side BIRD up", kernel);
        Birdc(set, s, srcCtl, "enable", "k");
        WaitFor(() => Established(set, s, srcCtl, "k"), 120, "the kernel-side BIRD's session established", kernel);
        sw.Restart();
        WaitFor(() => Exported(Birdc(set, k, kerCtl, "show", "protocols", "all", "fib").Stdout) >= n, 1800, "BIRD exported every route to the kernel", kernel);
        var theirs = sw.Elapsed;
        int inFib = KernelRoutes(k);
        Console.WriteLine($"  BIRD 2 + Linux FIB (BGP → kernel):               {theirs.TotalSeconds,7:F2} s  ({n / theirs.TotalSeconds:N0} routes/s), {inFib:N0} routes counted in the FIB");
        if (inFib < n) throw new InvalidOperationException($"the kernel's FIB holds {inFib} of {n} routes after BIRD reported them exported");
        Console.WriteLine($"  ratio dataplane-gateway / BIRD+kernel: {ours / theirs:F2}");
        return 0;
    }

    /// <summary>The source's config: the table as static routes (unreachable: BGP sends them with next hop self), and
    /// one disabled session per target.</summary>
    private static string SourceBird(int n)
    {
        var conf = new StringBuilder();
        conf.AppendLine("router id 198.18.200.1;\nprotocol device { }\nprotocol static onprem { ipv6;");
        for (int i = 0; i < n; i++) conf.Append("route 2001:db8:").Append((i >> 4).ToString("x")).Append(':').Append(((i & 15) << 12).ToString("x")).AppendLine("::/52 unreachable;");
        conf.AppendLine("}");
        conf.AppendLine($"protocol bgp k {{ disabled yes; local {SrcToKernel} as 65100; neighbor {KernelSide} as 65200; ipv6 {{ import none; export all; next hop self; }}; }}");
        conf.AppendLine($"protocol bgp g {{ disabled yes; local {SrcToGateway} as 65100; neighbor {GatewaySide} as 65001; ipv6 {{ import none; export all; next hop self; }}; }}");
        return conf.ToString();
    }

    /// <summary>The gateway's directory: itself as a Node, its two sides, the on-prem prefix it serves, one eBGP
    /// session over IPv6 that learns (it announces nothing here).</summary>
    private static string GatewayYaml(string gop, string gms, string gopMac, string gmsMac) => $$$"""
        apiVersion: v1
        kind: Node
        metadata: {name: gw-1, labels: {dataplane.io/role: gateway}}
        status: {addresses: [{type: InternalIP, address: 198.18.201.1}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: gw-1}
        spec:
          interfaces:
          - {name: {{{gop}}}, mac: "{{{gopMac}}}", addresses: ["{{{GatewaySide}}}/64"]}
          - {name: {{{gms}}}, mac: "{{{gmsMac}}}", addresses: ["198.18.201.1/24"]}
          overlay: {mode: vxlan}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneGateway
        metadata: {name: gw-1}
        spec:
          meshInterfaces: [{{{gms}}}]
          onPremInterfaces: [{{{gop}}}]
          onPremPrefixes: ["2001:db8::/32"]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPClusterConfig
        metadata: {name: onprem}
        spec:
          nodeSelector: {matchLabels: {dataplane.io/role: gateway}}
          bgpInstances:
          - name: onprem
            localASN: 65001
            peers:
            - {name: router, peerAddress: "{{{SrcToGateway}}}", peerASN: 65100, peerConfigRef: {name: router}}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumBGPPeerConfig
        metadata: {name: router}
        spec:
          timers: {holdTimeSeconds: 90, keepAliveTimeSeconds: 30, connectRetryTimeSeconds: 1}
          families:
          - {afi: ipv6, safi: unicast}
        """;

    private static Sh.Result Birdc(NetnsSet set, string ns, string ctl, params string[] args) =>
        set.Exec(ns, TimeSpan.FromSeconds(60), ["birdc", "-s", ctl, .. args]);

    private static bool Established(NetnsSet set, string ns, string ctl, string protocol) =>
        Birdc(set, ns, ctl, "show", "protocols", protocol).Stdout.Contains("Established", StringComparison.Ordinal);

    /// <summary>The largest route count the gateway has logged as applied ("agent: bgp: N learned route(s) applied").</summary>
    private static int Applied(string log)
    {
        int best = -1;
        foreach (Match m in AppliedLine().Matches(log)) best = Math.Max(best, int.Parse(m.Groups[1].Value));
        return best;
    }

    private static int Exported(string protocolsAll)
    {
        var m = ExportedCount().Match(protocolsAll);
        return m.Success ? int.Parse(m.Groups[1].Value) : -1;
    }

    /// <summary>Routes BIRD put in the namespace's kernel table, counted by the kernel (netlink dump through ip).</summary>
    private static int KernelRoutes(string ns)
    {
        var r = Sh.Run(TimeSpan.FromSeconds(300), "sh", "-c", $"ip -n {ns} -6 route show proto bird | wc -l");
        return r.Ok ? int.Parse(r.Stdout.Trim()) : -1;
    }

    private static long RssKiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return -1;
    }

    private static void WaitFor(Func<bool> done, int seconds, string what, Background watched)
    {
        var end = DateTime.UtcNow.AddSeconds(seconds);
        while (!done())
        {
            if (watched.HasExited) throw new InvalidOperationException($"bgp-fib: exited while waiting for {what}:\n{watched.Output}");
            if (DateTime.UtcNow > end) throw new TimeoutException($"bgp-fib: timed out waiting for {what}:\n{watched.Output}");
            Thread.Sleep(50);
        }
    }

    [GeneratedRegex(@"agent: bgp: (\d+) learned route\(s\) applied")]
    private static partial Regex AppliedLine();

    [GeneratedRegex(@"(\d+) of \d+ routes for \d+ networks in table master6")]
    private static partial Regex RouteCount();

    [GeneratedRegex(@"Routes:\s+\d+ imported, (\d+) exported")]
    private static partial Regex ExportedCount();
}
