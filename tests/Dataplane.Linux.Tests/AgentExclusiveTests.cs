using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The issue's reproduction: two agents on the same interfaces both forwarded (every ping duplicated), and a
/// second agent on the same API socket attached and forwarded before failing. Now the second agent is refused
/// before it attaches anything — one line naming what is taken and by which pid, exit code 3 — and the first
/// keeps forwarding, every ping answered once.
/// </summary>
public sealed class AgentExclusiveTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public void SecondAgentOnTheSameInterfacesOrSocketIsRefusedBeforeAttaching()
    {
        Requires.RootAnd("ip", "ping");
        using var topo = new PodTopology("");
        var first = topo.StartForwarder("af_packet");
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        try
        {
            Assert.True(first.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + first.Output);
            var firstStatus = AgentApi.Status(PodTopology.SocketOf(topo.ConfigDir));

            // Same socket (and interfaces): refused on the socket, before attaching.
            var sameSocket = topo.Start(topo.DataplaneNs, ["dotnet", dll, "run", "--config", topo.ConfigDir, "--backend", "af_packet",
                .. PodTopology.AgentArgs(topo.ConfigDir)]);
            Assert.True(Exited(sameSocket), "second agent on the same socket kept running:\n" + sameSocket.Output);
            Assert.Equal(3, sameSocket.ExitCode);
            Assert.Matches($@"dataplane-node: API socket {Regex.Escape(PodTopology.SocketOf(topo.ConfigDir))}: already served by another agent \(pid {first.Pid}, lock ", sameSocket.Output);
            Assert.DoesNotContain("forwarding on", sameSocket.Output);

            // Its own socket and state, the same interfaces: refused on the first interface, before attaching.
            string other = Path.Combine(Path.GetTempPath(), "dpt-second-" + topo.Suffix);
            Directory.CreateDirectory(other);
            try
            {
                var sameIfs = topo.Start(topo.DataplaneNs, ["dotnet", dll, "run", "--config", topo.ConfigDir, "--backend", "af_packet",
                    "--socket", Path.Combine(other, "agent.sock"), "--state-dir", other]);
                Assert.True(Exited(sameIfs), "second agent on the same interfaces kept running:\n" + sameIfs.Output);
                Assert.Equal(3, sameIfs.ExitCode);
                Assert.Matches(@"dataplane-node: interface lxc[0-9a-f]{12}: already served by another agent \(pid \d+, lock /run/dataplane/locks/\d+-lxc[0-9a-f]{12}\.lock\); stop it first",
                    sameIfs.Output);
                Assert.DoesNotContain("forwarding on", sameIfs.Output);
                Assert.Single(sameIfs.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("dataplane-node:", StringComparison.Ordinal));
            }
            finally { Directory.Delete(other, recursive: true); }

            // The first agent is untouched: every ping answered exactly once (no duplicates).
            var ping = topo.Exec(topo["client"].Ns, Short, "ping", "-c", "5", "-i", "0.2", "-W", "1", topo["server"].Ip);
            PingAssert.EveryRequestAnswered(ping.Output, 5);
            Assert.DoesNotContain("DUP!", ping.Output);
            Assert.Equal(firstStatus.Generation, AgentApi.Status(PodTopology.SocketOf(topo.ConfigDir)).Generation);

            Assert.True(first.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + first.Output);
            Assert.Equal(0, first.ExitCode);
        }
        finally { output.WriteLine(first.Output); }
    }

    /// <summary>True when the process ends within <see cref="Short"/> (its output then complete).</summary>
    private static bool Exited(Background b)
    {
        var until = DateTime.UtcNow + Short;
        while (!b.HasExited && DateTime.UtcNow < until) Thread.Sleep(50);
        return b.HasExited && b.Stop(TimeSpan.FromSeconds(5));
    }
}
