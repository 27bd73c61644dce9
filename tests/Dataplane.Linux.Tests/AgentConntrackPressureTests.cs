using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Issue 23, item 6 against `dataplane-node run` (af_packet): one pod floods the node with one-way flows (UDP to
/// ever new ports, none answered) until the conntrack table is full, and keeps flooding. Before, every new connection
/// on the node was then dropped with 155 for a minute; now the other pod's new TCP connection evicts the flood's
/// oldest unanswered entry, and the flood — over its share — only recycles its own, so the connection completes and
/// nothing is dropped with 155.
/// </summary>
public sealed class AgentConntrackPressureTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    private const string Flood = """
        import os, socket, sys, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        end = time.time() + float(sys.argv[2]); n = 0
        while time.time() < end and not os.path.exists(sys.argv[3]):
            for _ in range(500):
                s.sendto(b'flood', (sys.argv[1], 1 + n % 30000)); n += 1
            time.sleep(0.005)
        print('sent', n, flush=True)
        """;

    [SkippableFact]
    public void OnePodsFloodDoesNotBlockAnotherPodsNewConnection()
    {
        Requires.RootAnd("ip", "python3");
        using var topo = new PodTopology("");
        var agent = topo.StartForwarder("af_packet", "--ct-dir", "");
        string socket = PodTopology.SocketOf(topo.ConfigDir);
        string stop = Path.Combine(topo.ConfigDir, ".stop-flood");
        var client = topo["client"];
        var server = topo["server"];
        try
        {
            Assert.True(agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            var listener = topo.Start(client.Ns, "python3", PodTopology.Echo, "tcp-server", "7070");
            Assert.True(listener.WaitFor("listening", Short), listener.Output);

            var flood = topo.Start(client.Ns, "python3", "-c", Flood, server.Ip, "90", stop);
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            var status = AgentApi.Status(socket);
            while (status.ConntrackEntries < status.ConntrackCapacity && DateTime.UtcNow < until)
            {
                Thread.Sleep(200);
                status = AgentApi.Status(socket);
            }
            Assert.True(status.ConntrackEntries == status.ConntrackCapacity, $"the flood did not fill the table: {status.ConntrackEntries} / {status.ConntrackCapacity}\n{flood.Output}");

            // The table is full and the flood goes on: the server pod opens a new connection to the client pod.
            var ok = topo.Exec(server.Ns, Short, "python3", PodTopology.Echo, "tcp-client", client.Ip, "7070", "100000");
            Assert.True(ok.Ok && ok.Output.Contains("echoed 100000"), $"the new connection failed under the flood: {ok.Output}\n{agent.Output}");
            Assert.False(flood.HasExited, "the flood ended before the connection was tried: " + flood.Output);
            var during = AgentApi.Status(socket);
            Assert.Equal(during.ConntrackCapacity, during.ConntrackEntries);
            Assert.False(during.DropsByReason.ContainsKey("CT_MAP_INSERTION_FAILED (155)"), string.Join(", ", during.DropsByReason));

            File.WriteAllText(stop, "");
            Assert.True(flood.WaitFor("sent", Short), flood.Output);
            output.WriteLine(flood.Output);
            Assert.True(agent.Stop(Short), "agent did not stop on SIGTERM:\n" + agent.Output);
            Assert.Equal(0, agent.ExitCode);
        }
        finally
        {
            output.WriteLine(agent.Output);
            agent.Dispose();
        }
    }
}
