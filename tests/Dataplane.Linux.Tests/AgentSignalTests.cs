using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Issue 23, item 7: SIGHUP killed the agent without clean-up (its socket left behind). Now it reloads the config
/// directory — a new generation with nothing changed on disk, logged — and the agent keeps forwarding; SIGTERM then
/// stops it cleanly and removes the socket.
/// </summary>
public sealed class AgentSignalTests(ITestOutputHelper output)
{
    private const int SIGHUP = 1;

    [SkippableFact]
    public void SighupReloadsTheConfigAndTheAgentKeepsForwarding()
    {
        Requires.RootAnd("ip", "ping");
        using var topo = new PodTopology("");
        var agent = topo.StartForwarder("af_packet", "--ct-dir", "");
        string socket = PodTopology.SocketOf(topo.ConfigDir);
        try
        {
            Assert.True(agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            long gen0 = AgentApi.Status(socket).Generation;
            agent.Signal(SIGHUP);
            // Bounded generously: on a machine loaded far past its cores a reload has taken more than 30 s to show.
            Assert.True(agent.WaitFor($"agent: config reloaded: generation {gen0 + 1}", TimeSpan.FromSeconds(90)),
                $"no reload on SIGHUP (agent {(agent.HasExited ? $"exited with {agent.ExitCode}" : "still running")}):\n" + agent.Output);
            Assert.Contains($"agent: SIGHUP: reloading {topo.ConfigDir}", agent.Output);
            Assert.False(agent.HasExited, "SIGHUP ended the agent:\n" + agent.Output);
            Assert.Equal(gen0 + 1, AgentApi.Status(socket).Generation);
            PingAssert.EveryRequestAnswered(topo.Ping(topo["client"], topo["server"], 3).Output, 3);

            Assert.True(agent.Stop(TimeSpan.FromSeconds(30)), "agent did not stop on SIGTERM:\n" + agent.Output);
            Assert.Equal(0, agent.ExitCode);
            Assert.False(File.Exists(socket), "the API socket was left behind");
        }
        finally
        {
            output.WriteLine(agent.Output);
            agent.Dispose();
        }
    }
}
