using System.Net;

namespace Dataplane.Bgp.Tests.Interop;

/// <summary>gobgpd in its own namespace, configured passive toward our speaker's IPv4 and IPv6 addresses,
/// with graceful restart (helper) enabled for both families.</summary>
internal sealed class GobgpDaemon : IDisposable
{
    public const uint As = 65100;
    private readonly string _dir;
    private readonly Background _process;
    private readonly string? _password;

    public GobgpDaemon(uint ourAs, string? password = null)
    {
        _password = password;
        Requires.RootAnd("gobgpd", "gobgp");
        Link = new NetnsLink();
        try
        {
            _dir = Link.Dir("gobgp");
            File.WriteAllText(Path.Combine(_dir, "gobgpd.toml"), Config(ourAs));
            _process = Link.Start(LogPath, "gobgpd", "-f", Path.Combine(_dir, "gobgpd.toml"), "--api-hosts", "127.0.0.1:50051");
            // Ready when its API answers.
            var end = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (!Link.TryExec("gobgp", "global").Ok)
            {
                if (DateTime.UtcNow > end || _process.HasExited) throw new InvalidOperationException("gobgpd did not start: " + File.ReadAllText(LogPath));
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
    public string LogPath => Path.Combine(_dir, "gobgpd.log");
    public int Pid => _process.Pid;

    private string Config(uint ourAs)
    {
        string Neighbor(IPAddress a) => $"""
            [[neighbors]]
              [neighbors.config]
                neighbor-address = "{a}"
                peer-as = {ourAs}{(_password is null ? "" : $"\n    auth-password = \"{_password}\"")}
              [neighbors.transport.config]
                passive-mode = true
              [neighbors.timers.config]
                connect-retry = 1
                hold-time = 9
                keepalive-interval = 3
              [neighbors.graceful-restart.config]
                enabled = true
                restart-time = 60
              [[neighbors.afi-safis]]
                [neighbors.afi-safis.config]
                  afi-safi-name = "ipv4-unicast"
                [neighbors.afi-safis.mp-graceful-restart.config]
                  enabled = true
              [[neighbors.afi-safis]]
                [neighbors.afi-safis.config]
                  afi-safi-name = "ipv6-unicast"
                [neighbors.afi-safis.mp-graceful-restart.config]
                  enabled = true

            """;
        return $"""
            [global.config]
              as = {As}
              router-id = "{Link.PeerV4}"
              port = 179
              local-address-list = ["{Link.PeerV4}", "{Link.PeerV6}"]

            """ + Neighbor(Link.HostV4) + Neighbor(Link.HostV6);
    }

    /// <summary><c>gobgp global rib -a FAMILY</c> as text.</summary>
    public string Rib(string family) => Link.TryExec("gobgp", "global", "rib", "-a", family).Stdout;

    public string Neighbors() => Link.TryExec("gobgp", "neighbor").Stdout;

    public void Gobgp(params string[] args) => Link.Exec("gobgp", args);

    public void Signal(string signal) => Sh.Run("kill", $"-{signal}", Pid.ToString());

    public void Dispose()
    {
        // The link owns the daemon and the directory: both go with it.
        Link.Dispose();
    }
}
