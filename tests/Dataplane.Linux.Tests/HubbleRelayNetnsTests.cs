using System.Text.Json;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// `dataplane-node relay` in Hubble Relay's role: two agents (nodes dp and dp2, each with its two pods) and one peer
/// that is not there; the relay merges the agents' flows in time order behind one Observer, `observe --server`
/// asks it (the last flows, then following both nodes), and the Python client generated from Cilium's protos asks
/// it for the nodes.
/// </summary>
public sealed class HubbleRelayNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);
    private static string Node => Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");

    [SkippableFact]
    public async Task TheRelayMergesTwoAgentsFlowsInTimeOrder()
    {
        Requires.RootAnd("ip", "ping");
        using var a = new PodTopology(PodPolicies.ServerAllowsTcp8080);
        using var b = new PodTopology(PodPolicies.ServerAllowsTcp8080);
        // The second node is dp2: same pods and addresses, in namespaces of its own.
        string yaml = Path.Combine(b.ConfigDir, "cluster.yaml");
        File.WriteAllText(yaml, File.ReadAllText(yaml).Replace("{name: dp}", "{name: dp2}").Replace("nodeName: dp}", "nodeName: dp2}"));
        string ha = Path.Combine(a.ConfigDir, ".agent", "hubble.sock"), hb = Path.Combine(b.ConfigDir, ".agent", "hubble.sock");
        string relaySocket = Path.Combine(a.ConfigDir, ".agent", "relay.sock");
        using var agentA = a.StartForwarder("af_packet", "--ct-dir", "", "--hubble-socket", ha);
        using var agentB = b.StartForwarder("af_packet", "--ct-dir", "", "--hubble-socket", hb);
        Background? relay = null, follow = null;
        try
        {
            Assert.True(agentA.WaitFor("Hubble Observer API on", TimeSpan.FromSeconds(60)), "agent dp did not start:\n" + agentA.Output);
            Assert.True(agentB.WaitFor("Hubble Observer API on", TimeSpan.FromSeconds(60)), "agent dp2 did not start:\n" + agentB.Output);
            relay = new Background(null, "dotnet", Node, "relay", "--peer", "unix://" + ha, "--peer", "unix://" + hb,
                "--peer", "unix://" + Path.Combine(a.ConfigDir, "nobody.sock"), "--listen-socket", relaySocket);
            Assert.True(relay.WaitFor("relay: serving", Short), "relay did not start:\n" + relay.Output);

            a.Ping(a["client"], a["server"], 2);
            b.Ping(b["client"], b["server"], 3);
            var last = Observe("--server", "unix://" + relaySocket, "--verdict", "DROPPED", "--protocol", "icmp", "-o", "json", "--last", "100");
            var flows = last.Where(l => l.TryGetProperty("flow", out _)).ToList();
            Assert.Equal(2, flows.Count(f => f.GetProperty("node_name").GetString() == "default/dp"));
            Assert.Equal(3, flows.Count(f => f.GetProperty("node_name").GetString() == "default/dp2"));
            var times = flows.Select(f => f.GetProperty("time").GetDateTimeOffset()).ToList();
            Assert.Equal(times.Order(), times);
            // The missing peer is reported in the stream, not fatal.
            Assert.Contains(last, l => l.TryGetProperty("node_status", out var s) && s.GetProperty("state_change").GetString() == "NODE_UNAVAILABLE");
            // --last counts over both nodes: the newest two of five.
            var two = Observe("--server", "unix://" + relaySocket, "--verdict", "DROPPED", "--protocol", "icmp", "-o", "json", "--last", "2")
                .Where(l => l.TryGetProperty("flow", out _)).ToList();
            Assert.Equal(times[^2..], two.Select(f => f.GetProperty("time").GetDateTimeOffset()));

            // Following through the relay: both nodes' new drops arrive (after the sort buffer drains).
            follow = new Background(null, "dotnet", Node, "observe", "--server", "unix://" + relaySocket, "-f", "--last", "1", "--verdict", "DROPPED", "-o", "json");
            int From(string node) => follow.Output.Split('\n').Count(l => l.StartsWith("{\"flow\"", StringComparison.Ordinal) && l.Contains($"\"node_name\":\"default/{node}\"", StringComparison.Ordinal));
            await Eventually.True(() => From("dp") + From("dp2") >= 2, "observe -f through the relay did not start:\n" + follow.Output);
            int beforeA = From("dp"), beforeB = From("dp2");
            a.Ping(a["client"], a["server"], 1);
            b.Ping(b["client"], b["server"], 1);
            await Eventually.True(() => From("dp") > beforeA && From("dp2") > beforeB, "observe -f through the relay missed a node's drop:\n" + follow.Output);

            var nodes = HubbleClient(a, relaySocket, "nodes").GetProperty("nodes").EnumerateArray().ToList();
            Assert.Equal(["default/dp", "default/dp2"], nodes.Where(n => n.GetProperty("state").GetString() == "NODE_CONNECTED").Select(n => n.GetProperty("name").GetString()).Order());
            Assert.Single(nodes, n => n.GetProperty("state").GetString() == "NODE_UNAVAILABLE");
            var status = HubbleClient(a, relaySocket, "status");
            Assert.Equal(2, status.GetProperty("num_connected_nodes").GetInt32());
            Assert.Equal(1, status.GetProperty("num_unavailable_nodes").GetInt32());
        }
        finally
        {
            follow?.Dispose();
            relay?.Dispose();
            output.WriteLine(agentA.Output);
            output.WriteLine(agentB.Output);
        }
    }

    private List<JsonElement> Observe(params string[] args)
    {
        var r = Sh.Run(Short, "dotnet", [Node, "observe", .. args]);
        output.WriteLine($"observe {string.Join(' ', args)}:\n{r.Output}");
        Assert.True(r.Ok, r.Output);
        return [.. r.Stdout.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    private static JsonElement HubbleClient(PodTopology topo, string socket, string command)
    {
        var r = topo.Exec(topo.DataplaneNs, Short, Sh.Python, Path.Combine(AppContext.BaseDirectory, "Support", "hubble_client.py"),
            Path.Combine(Sh.RepoRoot, "api", "cilium"), socket, command);
        Assert.True(r.Ok, r.Output);
        return JsonDocument.Parse(r.Stdout.Split('\n').First(l => l.StartsWith('{'))).RootElement.Clone();
    }
}
