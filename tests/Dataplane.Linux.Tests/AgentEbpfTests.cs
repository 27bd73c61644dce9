using System.Text.RegularExpressions;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// `dataplane-node run --backend ebpf` as a user runs it: two pods on veths, the agent attaches the XDP program to
/// their lxc interfaces (generic mode: veths) and fills it from the config directory. Ping and allowed TCP pass
/// through the program; a denied connection is dropped and shows up as POLICY_DENIED in the status, in Cilium's
/// drop metric and as a DROPPED flow (ring buffer → flows file → `observe`). A config the program cannot hold (an
/// egress gateway policy over nine gateways) is reported and nothing of it applied: the running one keeps forwarding. After SIGTERM
/// the program stays attached, as Cilium's datapath outlives its agent: the pods still reach each other.
/// </summary>
public sealed class AgentEbpfTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Valid config the XDP program cannot hold: one egress gateway policy over nine gateway nodes, one more than its
    /// maps have room for per policy (OffloadSupport refuses it; a C# backend would run it).
    /// </summary>
    private static readonly string EgressGateways = string.Join("---\n", Enumerable.Range(0, 9).Select(i => """
        apiVersion: v1
        kind: Node
        metadata: {name: gw-NUM, labels: {gw: "yes"}}
        status: {addresses: [{type: InternalIP, address: 198.19.200.NUM}]}

        """.Replace("NUM", $"{i + 1}")).Append("""
        apiVersion: cilium.io/v2
        kind: CiliumEgressGatewayPolicy
        metadata: {name: egress-clients}
        spec:
          selectors: [{podSelector: {matchLabels: {app: client}}}]
          destinationCIDRs: [198.18.9.0/24]
          egressGateways: [{nodeSelector: {matchLabels: {gw: "yes"}}}]
        """));

    [SkippableFact]
    public void EbpfBackendForwardsCountsDropsExportsFlowsAndRefusesWhatItCannotRun()
    {
        Requires.RootAnd("ip", "ping", "python3");
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080AndPing);
        string flows = Path.Combine(topo.ConfigDir, ".agent", "flows.jsonl");
        string socket = PodTopology.SocketOf(topo.ConfigDir);
        int metricsPort = 20000 + Random.Shared.Next(20000);
        string pins = $"/sys/fs/bpf/dpt-{topo.Suffix}";
        var fwd = topo.StartForwarder("ebpf", "--flows-file", flows, "--metrics-port", metricsPort.ToString(), "--bpf-pin-dir", pins);
        try
        {
            Assert.True(fwd.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + fwd.Output);
            var client = topo["client"];
            var server = topo["server"];
            var status = AgentApi.Status(socket);
            Assert.Equal("ebpf", status.Backend);
            Assert.Equal("ebpf, xdp native on 0, generic on 2 interface(s)", status.Mode);
            Assert.All(status.Ports, p => Assert.True(p.Attached, $"{p.Name} has no XDP program"));

            var ping = topo.Ping(client, server, 3);
            Assert.True(ping.Ok, "ping through the XDP program failed:\n" + ping.Output + fwd.Output);
            topo.AssertTcp8080PassesAnd9090IsDropped(100000, () => fwd.Output);

            // The drop, counted: status and Cilium's metric (read inside the agent's namespace, where it listens).
            var counted = AgentApi.Status(socket);
            Assert.True(counted.DropsByReason.TryGetValue("POLICY_DENIED (133)", out ulong drops) && drops >= 1,
                "no POLICY_DENIED in the status: " + string.Join(", ", counted.DropsByReason));
            Assert.True(counted.TxPackets > 20, $"only {counted.TxPackets} packets forwarded by the program");
            var scrape = topo.Exec(topo.DataplaneNs, Short, "python3", "-c",
                $"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{metricsPort}/metrics').read().decode())");
            Assert.True(scrape.Ok, scrape.Output);
            // The server pod's ingress policy refused it: counted under that direction, as the C# backends count it.
            var metric = Regex.Match(scrape.Output, @"cilium_drop_count_total\{reason=""Policy denied"",direction=""INGRESS""\} (\d+)");
            Assert.True(metric.Success && ulong.Parse(metric.Groups[1].Value) >= 1, "no policy drop metric:\n" + scrape.Output);
            Assert.Matches(@"cilium_forward_count_total\{direction=""UNKNOWN""\} [1-9]", scrape.Output);

            // The drop, observed: the program's ring-buffer event, in the flows file, through `observe`.
            string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
            Sh.Result dropped = default!;
            for (int i = 0; i < 50; i++)
            {
                dropped = Sh.Run(Short, "dotnet", dll, "observe", "--socket", socket, "--verdict", "DROPPED", "-o", "json");
                if (dropped.Output.Contains("\"destination_port\":9090")) break;
                Thread.Sleep(200);
            }
            Assert.True(dropped.Ok, dropped.Output);
            var line = dropped.Output.Split('\n').FirstOrDefault(l => l.Contains("\"destination_port\":9090"));
            Assert.True(line is not null, "no DROPPED flow to port 9090 in `observe`:\n" + dropped.Output);
            Assert.Contains("\"drop_reason_desc\":\"POLICY_DENIED\"", line);
            Assert.Contains("\"verdict\":\"DROPPED\"", line);
            Assert.Contains("\"pod_name\":\"server\"", line);
            Assert.Contains("\"FORWARDED\"", File.ReadAllText(flows));

            // A config the program cannot run: refused as a whole, the running generation keeps forwarding.
            long generation = counted.Generation;
            File.WriteAllText(Path.Combine(topo.ConfigDir, "egress.yaml"), EgressGateways);
            Assert.True(fwd.WaitFor("agent: config error", Short), "egress gateway config not refused:\n" + fwd.Output);
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(fwd.Output, @"agent: config error, keeping generation \d+: .*eBPF.*egress gateway"), fwd.Output);
            var refused = AgentApi.Status(socket);
            Assert.Equal(generation, refused.Generation);
            Assert.Contains("egress gateway", refused.LastConfigError?.Message ?? "");
            Assert.True(topo.Ping(client, server, 2).Ok, "forwarding stopped after a refused config:\n" + fwd.Output);

            // SIGTERM: the agent exits cleanly, the program stays and forwards (documented default).
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + fwd.Output);
            Assert.Equal(0, fwd.ExitCode);
            Assert.Contains("ebpf: program left attached", fwd.Output);
            var after = topo.Ping(client, server, 2);
            Assert.True(after.Ok, "the program stopped forwarding with the agent:\n" + after.Output);
        }
        finally
        {
            output.WriteLine(fwd.Output);
            // Under `ip netns exec` the agent pins into a bpffs of its own mount namespace, gone with it; where
            // /sys/fs/bpf is the host's, the pins it leaves (by design) are removed here.
            Sh.Run("rm", "-rf", pins);
        }
    }

}
