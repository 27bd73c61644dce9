using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The reproductions against a running agent: a FIFO in the config directory hung reloads and
/// /v1/status until something wrote to it; a 200 KB file of '[' crashed the agent (stack overflow, exit 134).
/// Now the FIFO is skipped (a change next to it is applied, status answers) and the nested file is a config
/// error with its file:line:column while the agent keeps its generation and keeps running.
/// </summary>
public sealed class AgentHostileInputTests(ITestOutputHelper output)
{
    private const string DenyAll = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: server-deny, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress: [{}]
        """;

    [Fact]
    public void FifoIsSkippedAndNestedFileIsAConfigErrorWhileTheAgentRuns()
    {
        if (!(Sh.IsRoot && Sh.Has("ip") && Sh.Has("mkfifo")))
            Assert.Fail("needs root, iproute2 and coreutils (run as root; .ci/run installs the packages)");
        using var topo = new PodTopology("");
        var fwd = topo.StartForwarder("af_packet");
        string socket = PodTopology.SocketOf(topo.ConfigDir);
        try
        {
            Assert.True(fwd.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + fwd.Output);
            long gen0 = AgentApi.Status(socket).Generation;

            // No writer ever opens the FIFO: a reader that opened it would wait forever.
            Sh.Must("mkfifo", Path.Combine(topo.ConfigDir, "pipe.yaml"));
            File.WriteAllText(Path.Combine(topo.ConfigDir, ".policy.tmp"), DenyAll);
            File.Move(Path.Combine(topo.ConfigDir, ".policy.tmp"), Path.Combine(topo.ConfigDir, "policy.yaml"), overwrite: true);
            Assert.True(WaitGeneration(socket, gen0 + 1), "the change next to the FIFO was not applied:\n" + fwd.Output);
            var status = AgentApi.Status(socket);
            Assert.Null(status.LastConfigError);

            string deep = Path.Combine(topo.ConfigDir, "deep.yaml");
            File.WriteAllText(deep, new string('[', 100_000) + new string(']', 100_000));
            Assert.True(fwd.WaitFor("agent: config error", TimeSpan.FromSeconds(30)), fwd.Output);
            Assert.Contains($"{deep}:1:129: nesting deeper than 128 levels", fwd.Output);
            var after = AgentApi.Status(socket);
            Assert.Equal(status.Generation, after.Generation);
            Assert.Contains($"{deep}:1:129", after.LastConfigError!.Message);
            Assert.False(fwd.HasExited, "the agent exited:\n" + fwd.Output);

            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
        }
        finally { output.WriteLine(fwd.Output); }
    }

    private static bool WaitGeneration(string socket, long atLeast)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < until)
        {
            if (AgentApi.Status(socket).Generation >= atLeast) return true;
            Thread.Sleep(100);
        }
        return false;
    }
}
