using System.Text.Json;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The drops-only flow mode, as a Cilium user turns trace events off (--bpf-events-trace-enabled=false): an allowed
/// TCP connection passes first, then pings the policy denies; the flow file holds exactly the three drops — none of the
/// connection's forwarded packets, although the exporter drains the worker's ring in order.
/// </summary>
public sealed class DropsOnlyFlowsNetnsTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task WithTraceEventsOffOnlyDropsAreRecorded()
    {
        Requires.RootAnd("ip", "ping", "python3");
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080);
        string flows = Path.Combine(topo.ConfigDir, ".agent", "flows.jsonl");
        using var agent = topo.StartForwarder("af_packet", "--ct-dir", "", "--flows-file", flows, "--bpf-events-trace-enabled=false");
        try
        {
            Assert.True(agent.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            var client = topo["client"];
            var server = topo["server"];
            using (var echo = topo.Start(server.Ns, "python3", PodTopology.Echo, "tcp-server", "8080"))
            {
                Assert.True(echo.WaitFor("listening", TimeSpan.FromSeconds(20)), echo.Output);
                var ok = topo.Exec(client.Ns, TimeSpan.FromSeconds(30), "python3", PodTopology.Echo, "tcp-client", server.Ip, "8080", "1000");
                Assert.True(ok.Ok && ok.Output.Contains("echoed 1000"), ok.Output + agent.Output);
            }
            topo.Ping(client, server, 3);

            List<JsonElement> Lines() => !File.Exists(flows) ? [] :
                [.. File.ReadAllLines(flows).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("flow"))];
            await Eventually.True(() => Lines().Count >= 3, "the three dropped pings were not written:\n" + agent.Output);
            var lines = Lines();
            Assert.Equal(3, lines.Count);
            Assert.All(lines, f =>
            {
                Assert.Equal("DROPPED", f.GetProperty("verdict").GetString());
                Assert.Equal(8, f.GetProperty("l4").GetProperty("ICMPv4").GetProperty("type").GetInt32());
            });
            var status = AgentApi.Status(PodTopology.SocketOf(topo.ConfigDir));
            Assert.Equal(3, status.FlowExport!.Written);
            // The connection's packets were forwarded, only not recorded.
            Assert.True(status.TxPackets >= 6, $"tx {status.TxPackets}");
        }
        finally
        {
            output.WriteLine(agent.Output);
        }
    }
}
