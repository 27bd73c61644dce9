using System.Text.Json;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// Hubble's Observer API as another stack sees it: a Python client whose stubs Debian's python3-grpc-tools generates
/// from the same vendored Cilium protos calls the agent's --hubble-socket while real traffic crosses the two-pod
/// node — GetFlows following drops with a whitelist, the last N flows with whitelist and blacklist, label and TCP
/// flag filters, a since window, ServerStatus and GetNodes.
/// </summary>
public sealed class HubbleObserverNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(30);
    private static string Client => Path.Combine(AppContext.BaseDirectory, "Support", "hubble_client.py");
    private static string Protos => Path.Combine(Sh.RepoRoot, "api", "cilium");

    [SkippableFact]
    public async Task APythonClientFollowsAndFiltersFlowsOverTheHubbleSocket()
    {
        Requires.RootAnd("ip", "ping");
        var probe = Sh.Run(TimeSpan.FromSeconds(20), Sh.Python, ["-c", "import grpc, grpc_tools.protoc, google.protobuf"]);
        Skip.IfNot(probe.ExitCode == 0, "python3-grpcio / python3-grpc-tools not installed: " + probe.Stderr);
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080);
        string hubble = Path.Combine(topo.ConfigDir, ".agent", "hubble.sock");
        using var agent = topo.StartForwarder("af_packet", "--ct-dir", "", "--hubble-socket", hubble);
        Background? follower = null;
        try
        {
            Assert.True(agent.WaitFor("Hubble Observer API on unix:" + hubble, TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            var client = topo["client"];
            var server = topo["server"];

            // Two pings the policy drops, before anyone asks: they are in the ring.
            topo.Ping(client, server, 2);
            const string drops = """{"whitelist":[{"source_pod":["default/client"],"destination_pod":["default/server"],"verdict":["DROPPED"],"protocol":["icmp"]}]""";
            follower = topo.Start(topo.DataplaneNs, Sh.Python, Client, Protos, hubble, "flows", drops + ""","number":"100","follow":true}""", "5", "60");
            await Eventually.True(() => Lines(follower.Output).Count >= 2, "the follower did not get the two dropped pings from the ring:\n" + follower.Output);
            // Three more while it follows: they arrive on the open stream.
            topo.Ping(client, server, 3);
            Assert.True(follower.WaitForExit(Short), "the follower did not see three new drops:\n" + follower.Output + agent.Output);
            var followed = Lines(follower.Output).Select(l => l.GetProperty("flow")).ToList();
            Assert.Equal(5, followed.Count);
            foreach (var f in followed)
            {
                Assert.Equal("DROPPED", f.GetProperty("verdict").GetString());
                Assert.Equal("POLICY_DENIED", f.GetProperty("drop_reason_desc").GetString());
                Assert.Equal(8, f.GetProperty("l4").GetProperty("ICMPv4").GetProperty("type").GetInt32());
                Assert.Equal("client", f.GetProperty("source").GetProperty("pod_name").GetString());
                Assert.Equal("server", f.GetProperty("destination").GetProperty("pod_name").GetString());
                // Dropped by the server's ingress policy after local delivery rewrote the frame, as in Cilium's
                // datapath: from the router's MAC to the server's.
                Assert.Equal("02:00:00:00:00:99", f.GetProperty("ethernet").GetProperty("source").GetString());
                Assert.Equal(server.Mac, f.GetProperty("ethernet").GetProperty("destination").GetString());
                Assert.Equal("default/dp", f.GetProperty("node_name").GetString());
                Assert.Equal("INGRESS", f.GetProperty("traffic_direction").GetString());
            }
            Assert.Equal(5, followed.Select(f => f.GetProperty("uuid").GetString()).Distinct().Count());

            // An allowed TCP connection to 8080, then the last flows: to 8080 over TCP, drops excluded.
            using (var echo = topo.Start(server.Ns, "python3", PodTopology.Echo, "tcp-server", "8080"))
            {
                Assert.True(echo.WaitFor("listening", Short), echo.Output);
                var ok = topo.Exec(client.Ns, Short, "python3", PodTopology.Echo, "tcp-client", server.Ip, "8080", "2000");
                Assert.True(ok.Ok && ok.Output.Contains("echoed 2000"), $"allowed TCP failed: {ok.Output}\n{agent.Output}");
            }
            const string tcp8080 = """{"number":"50","whitelist":[{"source_ip":["198.18.100.0/24"],"destination_port":["8080"],"protocol":["tcp"]}],"blacklist":[{"verdict":["DROPPED"]}]}""";
            var last = Flows(topo, hubble, tcp8080, 50);
            Assert.NotEmpty(last);
            Assert.All(last, f =>
            {
                Assert.Equal("FORWARDED", f.GetProperty("verdict").GetString());
                Assert.Equal(8080, f.GetProperty("l4").GetProperty("TCP").GetProperty("destination_port").GetInt32());
            });
            Assert.Contains(last, f => f.GetProperty("trace_observation_point").GetString() == "TO_ENDPOINT");
            // Label selectors with and without a source, and TCP flags: the client's SYN to the server.
            const string syn = """{"number":"10","whitelist":[{"source_label":["k8s:app=client"],"destination_label":["app=server"],"tcp_flags":[{"SYN":true}],"destination_port":["8080"]}]}""";
            var syns = Flows(topo, hubble, syn, 10);
            Assert.NotEmpty(syns);
            Assert.All(syns, f => Assert.True(f.GetProperty("l4").GetProperty("TCP").GetProperty("flags").GetProperty("SYN").GetBoolean()));
            // A blacklist alone: everything but ICMP, so none of the dropped pings.
            var notIcmp = Flows(topo, hubble, """{"number":"100","blacklist":[{"protocol":["icmp"]}]}""", 100);
            Assert.NotEmpty(notIcmp);
            Assert.DoesNotContain(notIcmp, f => f.TryGetProperty("l4", out var l4) && l4.TryGetProperty("ICMPv4", out _));
            // A window that starts in the future holds nothing.
            Assert.Empty(Flows(topo, hubble, """{"since":"2100-01-01T00:00:00Z"}""", 10));

            var status = Call(topo, hubble, "status");
            Assert.True(status.GetProperty("seen_flows").GetString() is { } seen && long.Parse(seen) >= 5, status.ToString());
            Assert.Equal("4095", status.GetProperty("max_flows").GetString());
            var node = Call(topo, hubble, "nodes").GetProperty("nodes")[0];
            Assert.Equal("default/dp", node.GetProperty("name").GetString());
            Assert.Equal("NODE_CONNECTED", node.GetProperty("state").GetString());

            Assert.True(agent.Stop(Short), "agent did not stop:\n" + agent.Output);
            Assert.False(File.Exists(hubble), "the hubble socket was left behind");
        }
        finally
        {
            follower?.Dispose();
            output.WriteLine(agent.Output);
        }
    }

    private static string Node => Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");

    [SkippableFact]
    public async Task ObserveAsksTheAgentOverGrpcWithHubblesFlags()
    {
        Requires.RootAnd("ip", "ping");
        using var topo = new PodTopology(PodPolicies.ServerAllowsTcp8080);
        string hubble = Path.Combine(topo.ConfigDir, ".agent", "hubble.sock");
        string api = PodTopology.SocketOf(topo.ConfigDir);
        using var agent = topo.StartForwarder("af_packet", "--ct-dir", "", "--hubble-socket", hubble);
        Background? follow = null;
        try
        {
            Assert.True(agent.WaitFor("Hubble Observer API on", TimeSpan.FromSeconds(60)), "agent did not start:\n" + agent.Output);
            var client = topo["client"];
            var server = topo["server"];
            topo.Ping(client, server, 2);

            // The agent found through its API socket; hubble's flags; one GetFlowsResponse per line.
            var json = Observe("--socket", api, "--verdict", "DROPPED", "--to-pod", "default/server", "--protocol", "icmp", "-o", "json", "--last", "10");
            var lines = Lines(json);
            Assert.Equal(2, lines.Count);
            Assert.All(lines, l => Assert.Equal("POLICY_DENIED", l.GetProperty("flow").GetProperty("drop_reason_desc").GetString()));

            // -f streams what comes next, in hubble's compact form (after the last two, which show it is connected).
            follow = new Background(null, "dotnet", Node, "observe", "--server", "unix://" + hubble, "-f", "--last", "2", "--type", "drop", "--pod", "server", "-o", "compact");
            int Drops() => follow.Output.Split('\n').Count(l => l.Contains("default/client (ID:") && l.Contains("-> default/server (ID:") && l.Contains("DROPPED (POLICY_DENIED)"));
            await Eventually.True(() => Drops() >= 2, "observe -f did not show the last two drops:\n" + follow.Output);
            topo.Ping(client, server, 3);
            await Eventually.True(() => Drops() >= 5, "observe -f did not show the three new drops:\n" + follow.Output);
            Assert.DoesNotContain("FORWARDED", follow.Output);

            // table over the socket directly; an address filter on either side.
            var table = Observe("--server", hubble, "--ip", client.Ip, "-o", "table", "--last", "3").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("TIMESTAMP", table[0]);
            Assert.Equal(4, table.Length);
            // A flag hubble would refuse is refused, with the reason.
            var bad = Sh.Run(Short, "dotnet", Node, "observe", "--socket", api, "--since", "yesterday");
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains("--since yesterday", bad.Stderr);
        }
        finally
        {
            follow?.Dispose();
            output.WriteLine(agent.Output);
        }
    }

    private string Observe(params string[] args)
    {
        var r = Sh.Run(Short, "dotnet", [Node, "observe", .. args]);
        output.WriteLine($"observe {string.Join(' ', args)}:\n{r.Output}");
        Assert.True(r.Ok, r.Output);
        return r.Stdout;
    }

    private List<JsonElement> Flows(PodTopology topo, string socket, string request, int max)
    {
        var r = topo.Exec(topo.DataplaneNs, Short, Sh.Python, Client, Protos, socket, "flows", request, max.ToString(System.Globalization.CultureInfo.InvariantCulture), "10");
        output.WriteLine($"{request}: {r.Output}");
        Assert.True(r.Ok, r.Output);
        return [.. Lines(r.Stdout).Select(l => l.GetProperty("flow"))];
    }

    private static JsonElement Call(PodTopology topo, string socket, string command)
    {
        var r = topo.Exec(topo.DataplaneNs, Short, Sh.Python, Client, Protos, socket, command);
        Assert.True(r.Ok, r.Output);
        return Lines(r.Stdout).Single();
    }

    private static List<JsonElement> Lines(string text) =>
        [.. text.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
}
