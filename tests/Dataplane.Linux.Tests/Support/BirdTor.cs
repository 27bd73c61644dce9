namespace Dataplane.Linux.Tests.Support;

/// <summary>
/// BIRD 2 as the top-of-rack router in its own namespace: one passive eBGP session toward the node (which
/// connects, as Cilium's speaker does), its connected subnets announced to the node, what it learns from the node
/// exported into its kernel's routing table so hosts behind it reach the node's pods and VIPs. Graceful restart
/// is off, so a lost session takes the node's routes at once; route and state changes are logged with their order.
/// </summary>
internal sealed class BirdTor : IDisposable
{
    public const uint As = 65100;
    private readonly string _ns, _dir, _config;
    private Background? _process;

    /// <param name="role">Names this router's directory (several may run in one test).</param>
    /// <param name="announce">BIRD statements of one more protocol, <c>extra</c>, whose routes are announced to the
    /// node too (e.g. a static route); null: only the connected subnets.</param>
    public BirdTor(NetnsSet set, string ns, string routerIp, string nodeIp, uint nodeAs, string? password,
        string role = "bird", string? announce = null)
    {
        _ns = ns;
        _dir = set.Dir(role);
        _config = Path.Combine(_dir, "bird.conf");
        File.WriteAllText(_config, $$"""
            router id {{routerIp}};
            log "{{LogFile}}" all;
            debug protocols { states, routes, events };
            protocol device { scan time 1; }
            protocol direct lan { ipv4; interface "tcl*", "tsv*"; }
            {{(announce is null ? "" : $"protocol static extra {{ ipv4; {announce} }}")}}
            protocol kernel { ipv4 { import none; export filter { if proto = "node" then accept; reject; }; }; merge paths on; }
            protocol bgp node {
              local {{routerIp}} as {{As}};
              neighbor {{nodeIp}} as {{nodeAs}};
              passive on;
              hold time 9;
              keepalive time 3;
              graceful restart off;
              {{(password is null ? "" : $"password \"{password}\";")}}
              ipv4 { import all; export filter { if proto = "lan" || proto = "extra" then accept; reject; }; };
            }
            """);
        Start(set);
    }

    public string LogFile => Path.Combine(_dir, "bird.log");
    private string Socket => Path.Combine(_dir, "bird.ctl");

    public void Start(NetnsSet set)
    {
        _process = set.Start(_ns, "bird", "-f", "-c", _config, "-s", Socket, "-P", Path.Combine(_dir, "bird.pid"));
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!Birdc("show", "status").Ok)
        {
            if (DateTime.UtcNow > end || _process.HasExited) throw new InvalidOperationException("bird did not start: " + Log());
            Thread.Sleep(100);
        }
    }

    /// <summary>SIGKILL: the kernel closes BIRD's sockets, no NOTIFICATION is sent.</summary>
    public void Kill()
    {
        _process?.Signal(9);
        _process?.WaitForExit(TimeSpan.FromSeconds(10));
    }

    public Sh.Result Birdc(params string[] args) => Sh.Run(TimeSpan.FromSeconds(10), "ip", ["netns", "exec", _ns, "birdc", "-s", Socket, .. args]);

    /// <summary><c>birdc show route protocol node</c>: what BIRD has from the node.</summary>
    public string RoutesFromNode() => Birdc("show", "route", "protocol", "node").Stdout;

    public bool Established() => Birdc("show", "protocols", "node").Stdout.Contains("Established", StringComparison.Ordinal);

    public string Log() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    public void Dispose() => _process?.Dispose();
}
