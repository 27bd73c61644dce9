using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Issue 23, item 3's reproduction: `--flows-file` on a 512 KiB tmpfs, then `ping -f` through the agent. Before,
/// the full disk killed the agent with an unhandled IOException; now the failed writes are counted (status: write
/// errors, unwritten events, the last error), the agent keeps running and forwarding, and stops cleanly.
/// </summary>
public sealed class AgentFlowExportTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public void AFullDiskIsCountedAndForwardingContinues()
    {
        Requires.RootAnd("ip", "ping", "mount", "umount");
        using var topo = new PodTopology("");
        string disk = Path.Combine(Path.GetTempPath(), "dpt-flowdisk-" + topo.Suffix);
        Directory.CreateDirectory(disk);
        Sh.Must("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", disk);
        string flows = Path.Combine(disk, "flows.jsonl");
        var agent = topo.StartForwarder("af_packet", "--ct-dir", "", "--flows-file", flows);
        string socket = PodTopology.SocketOf(topo.ConfigDir);
        try
        {
            Assert.True(agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            var client = topo["client"];
            var server = topo["server"];
            // Flood pings, bounded by count and time: far more flow lines than 512 KiB hold.
            var flood = topo.Exec(client.Ns, TimeSpan.FromSeconds(60), "ping", "-f", "-c", "20000", "-w", "20", "-q", server.Ip);
            output.WriteLine(flood.Output);
            Assert.False(agent.HasExited, "the agent died on the full disk:\n" + agent.Output);

            var status = AgentApi.Status(socket);
            var fx = status.FlowExport!;
            output.WriteLine(fx.ToString());
            Assert.True(fx.WriteErrors > 0 && fx.Unwritten > 0, $"the full disk was not counted: {fx}");
            Assert.Contains("No space left on device", fx.LastError);
            Assert.True(fx.Written > 0, $"nothing was written before the disk filled: {fx}");
            Assert.True(new FileInfo(flows).Length <= 512 << 10);

            // Still forwarding, still answering.
            PingAssert.EveryRequestAnswered(topo.Ping(client, server, 3).Output, 3);
            Assert.True(AgentApi.Status(socket).FlowExport!.Unwritten >= fx.Unwritten);
            Assert.True(agent.Stop(Short), "agent did not stop on SIGTERM:\n" + agent.Output);
            Assert.Equal(0, agent.ExitCode);
        }
        finally
        {
            output.WriteLine(agent.Output);
            agent.Dispose();
            Sh.Run("umount", disk);
            Directory.Delete(disk, recursive: true);
        }
    }
}
