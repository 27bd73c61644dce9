using System.Text.RegularExpressions;
using Dataplane.Testing.Processes;

namespace Dataplane.Testing.Netns;

/// <summary>A command run to completion inside a network namespace (<see cref="NetnsSet.Exec"/> and the topologies over it).</summary>
public delegate Sh.Result NetnsExec(string ns, TimeSpan timeout, params string[] cmd);

/// <summary>A command started in the background inside a network namespace.</summary>
public delegate Background NetnsStart(string ns, params string[] cmd);

/// <summary>
/// echo.py's TCP and UDP echo through a topology: servers in one namespace (TCP on 5001, UDP on 5002), bounded
/// clients in another. TCP must come back whole; UDP may lose a datagram or two to a cold neighbour cache.
/// </summary>
public static partial class EchoTraffic
{
    public const int TcpPort = 5001, UdpPort = 5002;
    public static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Starts the TCP echo server (and the UDP one) in <paramref name="ns"/> and waits until they listen.</summary>
    public static void Serve(NetnsStart start, string ns, bool udp = false)
    {
        var tcp = start(ns, "python3", Script, "tcp-server", TcpPort.ToString());
        Assert.True(tcp.WaitFor("listening", Wait), "tcp echo server: " + tcp.Output);
        if (!udp) return;
        var u = start(ns, "python3", Script, "udp-server", UdpPort.ToString());
        Assert.True(u.WaitFor("listening", Wait), "udp echo server: " + u.Output);
    }

    /// <summary><paramref name="rounds"/> connections from <paramref name="ns"/>, each sending <paramref name="bytes"/>; all must be echoed.</summary>
    public static void Tcp(NetnsExec exec, string ns, string ip, int bytes, int rounds = 1, string context = "")
    {
        for (int i = 0; i < rounds; i++)
        {
            var r = exec(ns, Wait, "python3", Script, "tcp-client", ip, TcpPort.ToString(), bytes.ToString());
            Assert.True(r.Ok && r.Output.Contains($"echoed {bytes}"), $"tcp #{i} via {ip}: {r.Output}\n{context}");
        }
    }

    /// <summary>20 datagrams from <paramref name="ns"/>; at least 18 answered.</summary>
    public static void Udp(NetnsExec exec, string ns, string ip, string context = "")
    {
        var r = exec(ns, Wait, "python3", Script, "udp-client", ip, UdpPort.ToString(), "20");
        var m = RepliesRegex().Match(r.Output);
        Assert.True(r.Ok && m.Success && int.Parse(m.Groups[1].Value) >= 18, $"udp via {ip}: {r.Output}\n{context}");
    }

    [GeneratedRegex(@"replies (\d+)")]
    private static partial Regex RepliesRegex();
}
