using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Issue 23, item 1 on af_packet and af_xdp: an established TCP connection survives `kill -9` of the agent and a
/// restart under a policy that admits no new connection, because the workers' conntrack tables live in shared files
/// the next agent re-attaches; a file of another layout version is discarded cleanly. With memory-only tables the
/// same kill breaks the connection (the reported behaviour). The scenario: <see cref="AgentRestart"/>.
/// </summary>
public sealed class AgentRestartTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData("af_packet", true)]
    [InlineData("af_xdp", true)]
    [InlineData("af_packet", false)]
    public void EstablishedConnectionSurvivesKill9AndRestart(string backend, bool shared)
    {
        Requires.RootAnd("ip", "python3", "stat");
        using var topo = new PodTopology("");
        AgentRestart.Run(topo, extra => topo.StartForwarder(backend, extra), shared, output.WriteLine);
    }
}
