using Dataplane.Dpdk.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Dpdk.Tests;

/// <summary>
/// Issue 23, item 1 on the dpdk backend (af_packet vdevs on the pods' interfaces): an established TCP connection
/// survives `kill -9` of the agent and a restart under a policy that admits no new connection, and a conntrack file
/// of another layout version is discarded cleanly (<see cref="AgentRestart"/>). The killed agent's EAL runtime
/// directory is removed by the test (nothing else would).
/// </summary>
public sealed class AgentRestartTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void EstablishedConnectionSurvivesKill9AndRestart()
    {
        DpdkEnv.Require(namespaces: true);
        Requires.Tools("stat");
        using var topo = new PodTopology("");
        var killed = new List<int>();
        try
        {
            AgentRestart.Run(topo, extra => topo.StartForwarder("dpdk", extra), shared: true, output.WriteLine, killed.Add);
        }
        finally
        {
            foreach (int pid in killed)
                if (Directory.Exists(DpdkEnv.RuntimeDir($"dataplane-{pid}"))) Directory.Delete(DpdkEnv.RuntimeDir($"dataplane-{pid}"), recursive: true);
        }
    }
}
