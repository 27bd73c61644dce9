using Dataplane.Host.Api;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Dynamic neighbour resolution end to end, with no static neighbour anywhere: client and server are Linux
/// namespaces whose kernels answer ARP and neighbour solicitations; `dataplane-node run` (af_packet, af_xdp)
/// resolves them on demand. Ping and TCP over IPv4 and IPv6 pass; the server's `ip neigh` holds our MAC for our
/// addresses (from our requests); the status API lists the learned neighbours with their MACs; and packets to an
/// on-link address nobody answers are held (three per neighbour), then dropped and counted as FIB_LOOKUP_FAILED.
/// </summary>
public sealed class NeighborNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private const string Nobody4 = "198.18.2.77";

    [SkippableTheory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public async Task ResolvesPeersByArpAndNd_TheyLearnUs_UnansweredIsDroppedCounted(string backend)
    {
        Requires.RootAnd("ip", "ping", "python3");
        using var topo = new NetnsTopology();
        Assert.DoesNotContain("neighbors:", File.ReadAllText(Path.Combine(topo.ConfigDir, "node.yaml")));
        string echo = Path.Combine(AppContext.BaseDirectory, "Support", "echo.py");
        string socket = PodTopology.SocketOf(topo.ConfigDir);
        string ourServerSide = topo.Mac(topo.DataplaneNs, topo.DpServerIf);
        string clientMac = topo.Mac(topo.ClientNs, topo.ClientIf), serverMac = topo.Mac(topo.ServerNs, topo.ServerIf);
        var fwd = topo.StartForwarder(backend);
        try
        {
            Assert.True(fwd.WaitFor("run: forwarding on 2 port(s)", TimeSpan.FromSeconds(30)), "forwarder did not start:\n" + fwd.Output);
            // The first echo waits for two resolutions (the client's of us, ours of the server): bounded tries.
            foreach (var ip in new[] { NetnsTopology.ServerIp4, NetnsTopology.ServerIp6 }) PingAssert.Reaches(topo.Exec, topo.ClientNs, ip);

            var tcpServer = topo.Start(topo.ServerNs, "python3", echo, "tcp-server", "5001");
            Assert.True(tcpServer.WaitFor("listening", Short), tcpServer.Output);
            foreach (var ip in new[] { NetnsTopology.ServerIp4, NetnsTopology.ServerIp6 })
            {
                var tcp = topo.Exec(topo.ClientNs, Short, "python3", echo, "tcp-client", ip, "5001", "1000000");
                Assert.True(tcp.Ok && tcp.Output.Contains("echoed 1000000"), $"tcp via {ip}: {tcp.Output}\n{fwd.Output}");
            }

            // The server never spoke first: it knows our MAC for our addresses from our requests (and our answers).
            foreach (var (family, gw) in new[] { ("-4", NetnsTopology.ServerGw4), ("-6", NetnsTopology.ServerGw6) })
            {
                var neigh = topo.Exec(topo.ServerNs, Short, "ip", family, "neigh", "show", gw);
                output.WriteLine($"server: ip {family} neigh show {gw}: {neigh.Output.Trim()}");
                Assert.Contains($"lladdr {ourServerSide}", neigh.Output, StringComparison.OrdinalIgnoreCase);
            }

            // Our table, as the status API shows it: both hosts, both families, with their MACs.
            var status = AgentApi.Status(socket);
            var learned = status.Neighbors ?? [];
            foreach (var n in learned) output.WriteLine($"neighbour {n.Ip} dev {n.Interface} lladdr {n.Mac} {n.State}");
            AssertLearned(learned, NetnsTopology.ClientIp4, topo.DpClientIf, clientMac);
            AssertLearned(learned, NetnsTopology.ClientIp6, topo.DpClientIf, clientMac);
            AssertLearned(learned, NetnsTopology.ServerIp4, topo.DpServerIf, serverMac);
            AssertLearned(learned, NetnsTopology.ServerIp6, topo.DpServerIf, serverMac);

            // An on-link address nobody answers: five echoes in one second, while three solicitations go unanswered
            // (three seconds): three wait, two are dropped at once, the three are dropped when resolution fails.
            topo.Exec(topo.ClientNs, Short, "ping", "-c", "5", "-i", "0.2", "-W", "1", Nobody4);
            await Eventually.True(() => Drops169(AgentApi.Status(socket)) >= 5 && FailedNobody(AgentApi.Status(socket)),
                "5 drops FIB_LOOKUP_FAILED (169) and a failed entry for " + Nobody4, 20);

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(15)), fwd.Output);
            output.WriteLine(fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
        }
        finally { fwd.Dispose(); }
    }

    private static void AssertLearned(List<NeighborStatus> learned, string ip, string dev, string mac)
    {
        var n = learned.FirstOrDefault(x => x.Ip == ip);
        Assert.True(n is not null, $"{ip} not in the neighbour table: {string.Join("; ", learned)}");
        Assert.Equal(dev, n.Interface);
        Assert.Equal(mac, n.Mac, ignoreCase: true);
        Assert.Contains(n.State, new[] { "reachable", "stale", "delay", "probe" });
    }

    private static ulong Drops169(AgentStatus s) =>
        s.DropsByReason.Where(d => d.Key.EndsWith("(169)", StringComparison.Ordinal)).Aggregate(0UL, (sum, d) => sum + d.Value);

    private static bool FailedNobody(AgentStatus s) => (s.Neighbors ?? []).Any(n => n.Ip == Nobody4 && n.State == "failed");
}
