namespace Dataplane.Linux.Tests.Support;

/// <summary>
/// BIRD 2 as the on-prem router in front of two (or more) gateways: one passive eBGP session per gateway (protocols
/// <c>gw1</c>, <c>gw2</c> …, each gateway connecting as Cilium's speaker does), its connected subnets announced to
/// them, and what they announce exported into its kernel as one ECMP route per prefix: the kernel protocol has
/// <c>merge paths on</c>, which merges the equally good BGP paths (same AS path length, origin, MED, local-pref) into
/// a multipath route. The namespace hashes each packet's 5-tuple as a router does (fib_multipath_hash_policy=3 with
/// the five fields), so connections from one client spread over the gateways and a retransmitted SYN takes the path
/// its first one took (policy 1 would reuse the sending socket's hash, which crosses a veth and which Linux TCP changes
/// on a retransmission timeout: no router on a wire sees that). A short hold time (<paramref name="holdSeconds"/>, keepalive a third of it) bounds
/// how long a silent gateway keeps its path; graceful restart is off, so a lost session takes its routes at once.
/// </summary>
internal sealed class BirdEcmpRouter : IDisposable
{
    public const uint As = 65100;
    private readonly string _ns, _dir, _config;
    private Background? _process;

    /// <param name="gateways">Per gateway: the router's address on the link and the gateway's (protocols gw1, gw2 … in this order).</param>
    public BirdEcmpRouter(NetnsSet set, string ns, IReadOnlyList<(string RouterIp, string GatewayIp)> gateways, uint gatewayAs,
        int holdSeconds, string lanInterfaces = "tcl*")
    {
        _ns = ns;
        _dir = set.Dir("bird");
        _config = Path.Combine(_dir, "bird.conf");
        NetnsSet.Must(ns, "sysctl", "-qw", "net.ipv4.fib_multipath_hash_policy=3", "net.ipv4.fib_multipath_hash_fields=0x0037");
        var sessions = gateways.Select((g, i) => $$"""
            protocol bgp gw{{i + 1}} {
              local {{g.RouterIp}} as {{As}};
              neighbor {{g.GatewayIp}} as {{gatewayAs}};
              passive on;
              hold time {{holdSeconds}};
              keepalive time {{Math.Max(1, holdSeconds / 3)}};
              graceful restart off;
              ipv4 { import all; export filter { if proto = "lan" then accept; reject; }; };
            }
            """);
        File.WriteAllText(_config, $$"""
            router id {{gateways[0].RouterIp}};
            log "{{LogFile}}" all;
            debug protocols { states, routes, events };
            protocol device { scan time 1; }
            protocol direct lan { ipv4; interface "{{lanInterfaces}}"; }
            protocol kernel { ipv4 { import none; export filter { if proto ~ "gw*" then accept; reject; }; }; merge paths on; }
            {{string.Join("\n", sessions)}}
            """);
        _process = set.Start(_ns, "bird", "-f", "-c", _config, "-s", Socket, "-P", Path.Combine(_dir, "bird.pid"));
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!Birdc("show", "status").Ok)
        {
            if (DateTime.UtcNow > end || _process.HasExited) throw new InvalidOperationException("bird did not start: " + Log());
            Thread.Sleep(100);
        }
    }

    public string LogFile => Path.Combine(_dir, "bird.log");
    private string Socket => Path.Combine(_dir, "bird.ctl");

    public Sh.Result Birdc(params string[] args) => Sh.Run(TimeSpan.FromSeconds(10), "ip", ["netns", "exec", _ns, "birdc", "-s", Socket, .. args]);

    /// <summary><c>birdc show route protocol gwN</c>: what BIRD has from gateway <paramref name="n"/> (1-based).</summary>
    public string RoutesFrom(int n) => Birdc("show", "route", "protocol", $"gw{n}").Stdout;

    public bool Established(int n) => Birdc("show", "protocols", $"gw{n}").Stdout.Contains("Established", StringComparison.Ordinal);

    /// <summary>The router's kernel route for <paramref name="prefix"/> (<c>ip route show exact</c>).</summary>
    public string KernelRoute(string prefix) => Sh.Run("ip", "-n", _ns, "route", "show", "exact", prefix).Stdout;

    public string Log() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    public void Dispose() => _process?.Dispose();
}
