namespace Dataplane.Bgp.Tests.Interop;

/// <summary>
/// BIRD 2 in its own namespace: one passive BGP session per address family toward our speaker (IPv4 over
/// the IPv4 session, IPv6 over the IPv6 one), graceful restart on, and a static route per family that it
/// exports to us with a community.
/// </summary>
internal sealed class BirdDaemon : IDisposable
{
    public const uint As = 65200;
    public const string Static4 = "198.18.220.0/24";
    public const string Static6 = "2001:db8:220::/48";
    private readonly string _dir;
    private readonly Background _process;

    public BirdDaemon(uint ourAs)
    {
        Requires.RootAnd("bird", "birdc");
        Link = new NetnsLink();
        try
        {
            _dir = Link.Dir("bird");
            File.WriteAllText(ConfPath, Config(ourAs));
            _process = Link.Start(Path.Combine(_dir, "stdout.log"), "bird", "-f", "-c", ConfPath, "-s", Socket, "-P", Path.Combine(_dir, "bird.pid"));
            var end = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (!Birdc("show", "status").Ok)
            {
                if (DateTime.UtcNow > end || _process.HasExited) throw new InvalidOperationException("bird did not start: " + Log());
                Thread.Sleep(100);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NetnsLink Link { get; }
    private string ConfPath => Path.Combine(_dir, "bird.conf");
    private string Socket => Path.Combine(_dir, "bird.ctl");
    public int Pid => _process.Pid;

    private string Config(uint ourAs) => $$"""
        router id {{Link.PeerV4}};
        log "{{Path.Combine(_dir, "bird.log")}}" all;
        protocol device { scan time 2; }
        protocol direct { ipv4; ipv6; }
        protocol static s4 { ipv4; route {{Static4}} blackhole; }
        protocol static s6 { ipv6; route {{Static6}} blackhole; }
        protocol bgp ours4 {
          local {{Link.PeerV4}} as {{As}};
          neighbor {{Link.HostV4}} as {{ourAs}};
          passive on;
          hold time 9;
          keepalive time 3;
          graceful restart on;
          ipv4 {
            import all;
            export filter { if proto = "s4" then { bgp_community.add(({{As}}, 7)); accept; } reject; };
          };
        }
        protocol bgp ours6 {
          local {{Link.PeerV6}} as {{As}};
          neighbor {{Link.HostV6}} as {{ourAs}};
          passive on;
          hold time 9;
          keepalive time 3;
          graceful restart on;
          ipv6 {
            import all;
            export filter { if proto = "s6" then { bgp_community.add(({{As}}, 7)); accept; } reject; };
          };
        }
        """;

    public Sh.Result Birdc(params string[] args) => Link.TryExec("birdc", ["-s", Socket, .. args]);

    /// <summary><c>birdc show route all</c> for one protocol's imported routes.</summary>
    public string Routes(string protocol) => Birdc("show", "route", "all", "protocol", protocol).Stdout;

    public string Protocols() => Birdc("show", "protocols").Stdout;

    public string Log()
    {
        string Read(string f) => File.Exists(Path.Combine(_dir, f)) ? File.ReadAllText(Path.Combine(_dir, f)) : "";
        return Read("stdout.log") + Read("bird.log");
    }

    public void Signal(string signal) => Sh.Run("kill", $"-{signal}", Pid.ToString());

    public void Dispose()
    {
        // The link owns the daemon and the directory: both go with it.
        Link.Dispose();
    }
}
