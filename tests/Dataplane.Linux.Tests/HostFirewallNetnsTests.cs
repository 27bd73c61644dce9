using System.Globalization;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// The host firewall as a user runs it: `dataplane-node run --backend ebpf` on a node whose kernel serves TCP on the
/// node's own address (198.18.40.1 on its uplink), with a CiliumClusterwideNetworkPolicy whose nodeSelector matches
/// the node's labels and allows one port from the admin network 198.18.40.0/24. A client in another namespace reaches
/// the allowed port (the program hands the packets to the kernel, its replies leave through the kernel, later packets
/// pass through conntrack); the other port's SYNs are dropped before the kernel sees them, counted as POLICY_DENIED
/// (133) in the status and shown as a DROPPED flow to the host. Then the policy is changed to select other nodes
/// only and the same port is served: the host is open again. XDP (generic, veth) and the tc hook alike.
/// </summary>
public sealed class HostFirewallNetnsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    private static string Policy(string nodeLabel, int port) => $$$"""
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: host-admin}
        spec:
          nodeSelector: {matchLabels: {node-access: {{{nodeLabel}}}}}
          ingress:
          - fromCIDR: [198.18.40.0/24]
            toPorts: [{ports: [{port: "{{{port}}}", protocol: TCP}]}]

        """;

    /// <summary>
    /// The node (198.18.40.1 on eth0, labels node-access: admin) and a peer namespace (198.18.40.2) on one veth;
    /// the agent's config directory with the Node, its DataplaneNode and <paramref name="policy"/> as host-policy.yaml.
    /// </summary>
    private static (string Node, string Peer, string Config, string PolicyFile) Lay(NetnsSet set, string policy, string specExtra = "")
    {
        string node = set.Add("n"), client = set.Add("c");
        string config = set.Dir("cfg");
        set.Veth("eth0", node, "eth0", client);
        Sh.Must("ip", "-n", node, "addr", "add", "198.18.40.1/24", "dev", "eth0");
        Sh.Must("ip", "-n", client, "addr", "add", "198.18.40.2/24", "dev", "eth0");
        NetnsSet.Up(node, "eth0");
        NetnsSet.Up(client, "eth0");
        string mac = NetnsSet.Mac(node, "eth0");
        File.WriteAllText(Path.Combine(config, "node.yaml"), $$$"""
            apiVersion: v1
            kind: Node
            metadata: {name: hf, labels: {node-access: admin}}
            spec: {podCIDRs: ["198.18.41.0/24"]}
            status: {addresses: [{type: InternalIP, address: 198.18.40.1}]}
            ---
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: hf}
            spec:
              routerMac: "02:00:00:00:00:99"{{{specExtra}}}
              interfaces:
                - {name: eth0, mac: "{{{mac}}}", addresses: ["198.18.40.1/24"]}

            """);
        string policyFile = Path.Combine(config, "host-policy.yaml");
        File.WriteAllText(policyFile, policy);
        return (node, client, config, policyFile);
    }

    private static Background StartAgent(NetnsSet set, string node, string config, string hook, params string[] extra) =>
        set.Start(node, ["dotnet", Dll, "run", "--config", config, "--backend", "ebpf", "--ebpf-hook", hook,
            "--bpf-pin-dir", "", "--ct-max", "4096", "--flows-file", Path.Combine(config, ".agent", "flows.jsonl"),
            .. PodTopology.AgentArgs(config), .. extra]);

    private static string Dll => Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");

    /// <summary>The first flow of <paramref name="verdict"/> `observe` shows to <paramref name="port"/> (retried while the exporter catches up).</summary>
    private static string DroppedFlowTo(string socket, int port, string verdict = "DROPPED")
    {
        Sh.Result dropped = default!;
        for (int i = 0; i < 50; i++)
        {
            dropped = Sh.Run(Short, "dotnet", Dll, "observe", "--socket", socket, "--verdict", verdict, "-o", "json");
            string? line = dropped.Output.Split('\n').FirstOrDefault(l => l.Contains($"\"destination_port\":{port}"));
            if (line is not null) return line;
            Thread.Sleep(200);
        }
        Assert.Fail($"no {verdict} flow to port {port} in `observe`:\n" + dropped.Output);
        return "";
    }

    /// <summary>Writes <paramref name="yaml"/> over the policy file and waits for the agent to apply it (bounded).</summary>
    private static Dataplane.Host.Api.AgentStatus Replace(string socket, string policyFile, string yaml)
    {
        long generation = AgentApi.Status(socket).Generation;
        File.WriteAllText(policyFile, yaml);
        var status = AgentApi.Status(socket);
        for (int i = 0; i < 100 && status.Generation == generation; i++)
        {
            Thread.Sleep(100);
            status = AgentApi.Status(socket);
        }
        Assert.NotEqual(generation, status.Generation);
        return status;
    }

    private static string Scrape(NetnsSet set, string node, int metricsPort)
    {
        var scrape = set.Exec(node, Short, "python3", "-c",
            $"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{metricsPort}/metrics').read().decode())");
        Assert.True(scrape.Ok, scrape.Output);
        return scrape.Output;
    }

    [SkippableTheory]
    [InlineData("xdp")]
    [InlineData("tc")]
    public void HostPolicyServesTheAllowedPortAndDropsTheOtherBeforeTheKernel(string hook)
    {
        Requires.RootAnd("ip", "python3");
        using var set = new NetnsSet("dph");
        int allowed = 20000 + Random.Shared.Next(20000), denied = allowed + 1;
        string a = allowed.ToString(CultureInfo.InvariantCulture), d = denied.ToString(CultureInfo.InvariantCulture);
        var (node, client, config, policyFile) = Lay(set, Policy("admin", allowed));
        string socket = PodTopology.SocketOf(config);
        var fwd = StartAgent(set, node, config, hook);
        try
        {
            Assert.True(fwd.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + fwd.Output);
            Assert.All(AgentApi.Status(socket).Ports, p => Assert.True(p.Attached, $"{p.Name} has no program"));

            // The kernel of the node is the host: it serves both ports itself.
            var open = set.Start(node, "python3", PodTopology.Echo, "tcp-server", a);
            var closed = set.Start(node, "python3", PodTopology.Echo, "tcp-server", d);
            Assert.True(open.WaitFor("listening", Short) && closed.WaitFor("listening", Short), open.Output + closed.Output);

            var ok = set.Exec(client, Short, "python3", PodTopology.Echo, "tcp-client", "198.18.40.1", a, "100000");
            Assert.True(ok.Ok && ok.Output.Contains("echoed 100000"), $"allowed TCP to the host failed: {ok.Output}\n{fwd.Output}");
            Assert.True(open.WaitFor("served 100000", Short), "the host did not serve the allowed port: " + open.Output);

            var no = set.Exec(client, TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", "198.18.40.1", d, "1000");
            Assert.True(!no.Ok && !no.TimedOut && no.Output.Contains("timed out", StringComparison.Ordinal),
                $"TCP to the host's denied port was not silently dropped: {no.Output}\n{fwd.Output}");
            Assert.DoesNotContain("served", closed.Output);

            var status = AgentApi.Status(socket);
            Assert.True(status.DropsByReason.TryGetValue("POLICY_DENIED (133)", out ulong drops) && drops >= 1,
                "no POLICY_DENIED in the status: " + string.Join(", ", status.DropsByReason));
            Assert.True(status.LocalPackets > 10, $"only {status.LocalPackets} packets handed to the host");

            string line = DroppedFlowTo(socket, denied);
            Assert.Contains("\"drop_reason_desc\":\"POLICY_DENIED\"", line);
            Assert.Contains("\"traffic_direction\":\"INGRESS\"", line);
            Assert.Contains("reserved:host", line);

            // The policy now selects other nodes only: the host endpoint is open again, the same port is served.
            Replace(socket, policyFile, Policy("other", allowed));
            // A fresh server (the first one's accept may have timed out meanwhile).
            closed.Dispose();
            closed = set.Start(node, "python3", PodTopology.Echo, "tcp-server", d);
            Assert.True(closed.WaitFor("listening", Short), closed.Output);
            var now = set.Exec(client, Short, "python3", PodTopology.Echo, "tcp-client", "198.18.40.1", d, "1000");
            Assert.True(now.Ok && now.Output.Contains("echoed 1000"), $"the host stayed closed after its policy went: {now.Output}\n{fwd.Output}");
            open.Dispose();
            closed.Dispose();
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + fwd.Output);
        }
        finally
        {
            output.WriteLine(fwd.Output);
        }
    }

    private static string EgressPolicy(int served, int reachable) => $$$"""
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: host-out}
        spec:
          nodeSelector: {matchLabels: {node-access: admin}}
          ingress:
          - fromCIDR: [198.18.40.0/24]
            toPorts: [{ports: [{port: "{{{served}}}", protocol: TCP}]}]
          egress:
          - toCIDR: [198.18.40.0/24]
            toPorts: [{ports: [{port: "{{{reachable}}}", protocol: TCP}]}]

        """;

    /// <summary>
    /// Host egress with real packets: the node's own kernel connects out to a peer namespace. A host policy lets it
    /// reach one port of the admin network and serve one port to it. The allowed connection completes a 100 kB echo
    /// (its SYN judged once by the tcx egress hook; the peer's answers pass the host's ingress — which admits only the
    /// served port — as replies of a tracked connection); the other port's SYNs are dropped on their way out (the
    /// peer's server never accepts), counted as POLICY_DENIED under the EGRESS direction in Cilium's metric and
    /// shown as a DROPPED, EGRESS flow from reserved:host; the served port still works, the host's answers leaving
    /// as replies though its egress policy names no such port. Both ingress hooks.
    /// </summary>
    [SkippableTheory]
    [InlineData("xdp")]
    [InlineData("tc")]
    public void HostEgressPolicyLetsTheNodeReachTheAllowedPortOnlyAndRepliesPassBothWays(string hook)
    {
        Requires.RootAnd("ip", "python3");
        using var set = new NetnsSet("dpe");
        int served = 20000 + Random.Shared.Next(20000), reachable = served + 1, denied = served + 2;
        int metricsPort = 20000 + Random.Shared.Next(20000);
        string S(int port) => port.ToString(CultureInfo.InvariantCulture);
        var (node, peer, config, _) = Lay(set, EgressPolicy(served, reachable));
        string socket = PodTopology.SocketOf(config);
        var fwd = StartAgent(set, node, config, hook, "--metrics-port", S(metricsPort));
        try
        {
            Assert.True(fwd.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + fwd.Output);
            var status = AgentApi.Status(socket);
            Assert.True(status.HostFirewall is { } hf && hf.Contains("egress (tcx egress, the node's own traffic) on 1 interface(s)")
                && !hf.Contains("NOT enforced"), $"host firewall status: {status.HostFirewall}\n{fwd.Output}");

            var open = set.Start(peer, "python3", PodTopology.Echo, "tcp-server", S(reachable));
            var closed = set.Start(peer, "python3", PodTopology.Echo, "tcp-server", S(denied));
            Assert.True(open.WaitFor("listening", Short) && closed.WaitFor("listening", Short), open.Output + closed.Output);

            // The node's kernel connects out: allowed port.
            var ok = set.Exec(node, Short, "python3", PodTopology.Echo, "tcp-client", "198.18.40.2", S(reachable), "100000");
            Assert.True(ok.Ok && ok.Output.Contains("echoed 100000"), $"the host's allowed connection failed: {ok.Output}\n{fwd.Output}");
            Assert.True(open.WaitFor("served 100000", Short), "the peer did not serve the host: " + open.Output);

            // The other port: the SYNs never leave the node (the client's own connect timeout ends it).
            var no = set.Exec(node, TimeSpan.FromSeconds(60), "python3", PodTopology.Echo, "tcp-client", "198.18.40.2", S(denied), "1000");
            Assert.True(!no.Ok && !no.TimedOut && no.Output.Contains("timed out", StringComparison.Ordinal),
                $"the host's connection to a denied port was not dropped on its way out: {no.Output}\n{fwd.Output}");
            Assert.DoesNotContain("served", closed.Output);

            // Host ingress still works, and the host's answers (to the peer's ephemeral port) leave as replies.
            var service = set.Start(node, "python3", PodTopology.Echo, "tcp-server", S(served));
            Assert.True(service.WaitFor("listening", Short), service.Output);
            var inbound = set.Exec(peer, Short, "python3", PodTopology.Echo, "tcp-client", "198.18.40.1", S(served), "100000");
            Assert.True(inbound.Ok && inbound.Output.Contains("echoed 100000"), $"the host's served port failed: {inbound.Output}\n{fwd.Output}");

            // Counted: the status, and Cilium's metric under the EGRESS direction (read in the node's namespace).
            status = AgentApi.Status(socket);
            Assert.True(status.DropsByReason.TryGetValue("POLICY_DENIED (133)", out ulong drops) && drops >= 1,
                "no POLICY_DENIED in the status: " + string.Join(", ", status.DropsByReason));
            string scrape = Scrape(set, node, metricsPort);
            var metric = System.Text.RegularExpressions.Regex.Match(scrape,
                @"cilium_drop_count_total\{reason=""Policy denied"",direction=""EGRESS""\} (\d+)");
            Assert.True(metric.Success && ulong.Parse(metric.Groups[1].Value, CultureInfo.InvariantCulture) >= 1,
                "no egress policy drop in the metrics:\n" + scrape);

            // Observed: the dropped SYN from the host.
            string line = DroppedFlowTo(socket, denied);
            Assert.Contains("\"drop_reason_desc\":\"POLICY_DENIED\"", line);
            Assert.Contains("\"traffic_direction\":\"EGRESS\"", line);
            Assert.Contains("reserved:host", line);
            open.Dispose();
            closed.Dispose();
            service.Dispose();
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + fwd.Output);
        }
        finally
        {
            output.WriteLine(fwd.Output);
        }
    }

    /// <summary>
    /// A backend that cannot enforce host policies says so: `run --backend af_packet` with a host policy selecting
    /// the node reports in the log and in `status` that host policies are NOT enforced on the node's own traffic and
    /// why, and names the backend that does; once no host policy selects the node, the line goes.
    /// </summary>
    [SkippableFact]
    public void AUserspaceBackendReportsThatItCannotEnforceHostPolicies()
    {
        Requires.RootAnd("ip", "python3");
        using var set = new NetnsSet("dpw");
        var (node, _, config, policyFile) = Lay(set, EgressPolicy(22, 443));
        string socket = PodTopology.SocketOf(config);
        var fwd = set.Start(node, ["dotnet", Dll, "run", "--config", config, "--backend", "af_packet", "--ct-max", "4096",
            .. PodTopology.AgentArgs(config)]);
        try
        {
            Assert.True(fwd.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + fwd.Output);
            var status = AgentApi.Status(socket);
            Assert.True(status.HostFirewall is { } hf && hf.StartsWith("host policies NOT enforced on the node's own traffic by backend af_packet:")
                && hf.Contains("--backend ebpf"), $"host firewall status: {status.HostFirewall}");
            Assert.Contains("agent: host firewall: host policies NOT enforced", fwd.Output);

            status = Replace(socket, policyFile, Policy("other", 22));
            Assert.Null(status.HostFirewall);
            Assert.True(fwd.WaitFor("agent: host firewall: off", Short), fwd.Output);
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + fwd.Output);
        }
        finally
        {
            output.WriteLine(fwd.Output);
        }
    }

    /// <summary>
    /// Policy audit mode for the host endpoint (DataplaneNode spec.hostPolicyAuditMode: true), the way Cilium's
    /// host-firewall guide has users try host policies first: with the same host policy as above, the node's own
    /// connection to the port its egress policy does not allow and the peer's connection to a port its ingress policy
    /// does not allow both complete; `observe --verdict AUDIT` shows each with its direction and what would have been
    /// dropped (POLICY_DENIED), dataplane_policy_audited_total counts them by direction, and nothing is dropped.
    /// </summary>
    [SkippableFact]
    public void AuditModeLetsWhatTheHostPolicyWouldDropPassAndSaysSo()
    {
        Requires.RootAnd("ip", "python3");
        using var set = new NetnsSet("dpa");
        int served = 20000 + Random.Shared.Next(20000), reachable = served + 1, outPort = served + 2, inPort = served + 3;
        int metricsPort = 20000 + Random.Shared.Next(20000);
        string S(int port) => port.ToString(CultureInfo.InvariantCulture);
        var (node, peer, config, _) = Lay(set, EgressPolicy(served, reachable), "\n  hostPolicyAuditMode: true");
        string socket = PodTopology.SocketOf(config);
        var fwd = StartAgent(set, node, config, "xdp", "--metrics-port", S(metricsPort));
        try
        {
            Assert.True(fwd.WaitFor("agent: API on unix:", TimeSpan.FromSeconds(60)), "agent did not start:\n" + fwd.Output);
            var peerServer = set.Start(peer, "python3", PodTopology.Echo, "tcp-server", S(outPort));
            var nodeServer = set.Start(node, "python3", PodTopology.Echo, "tcp-server", S(inPort));
            Assert.True(peerServer.WaitFor("listening", Short) && nodeServer.WaitFor("listening", Short), peerServer.Output + nodeServer.Output);
            var outbound = set.Exec(node, Short, "python3", PodTopology.Echo, "tcp-client", "198.18.40.2", S(outPort), "10000");
            Assert.True(outbound.Ok && outbound.Output.Contains("echoed 10000"), $"audit mode dropped the host's connection: {outbound.Output}\n{fwd.Output}");
            var inbound = set.Exec(peer, Short, "python3", PodTopology.Echo, "tcp-client", "198.18.40.1", S(inPort), "10000");
            Assert.True(inbound.Ok && inbound.Output.Contains("echoed 10000"), $"audit mode dropped the connection to the host: {inbound.Output}\n{fwd.Output}");

            string egress = DroppedFlowTo(socket, outPort, "AUDIT"), ingress = DroppedFlowTo(socket, inPort, "AUDIT");
            Assert.Contains("\"traffic_direction\":\"EGRESS\"", egress);
            Assert.Contains("\"drop_reason_desc\":\"POLICY_DENIED\"", egress);
            Assert.Contains("\"traffic_direction\":\"INGRESS\"", ingress);
            Assert.Contains("reserved:host", ingress);
            string scrape = Scrape(set, node, metricsPort);
            Assert.Matches(@"dataplane_policy_audited_total\{direction=""EGRESS""\} [1-9]", scrape);
            Assert.Matches(@"dataplane_policy_audited_total\{direction=""INGRESS""\} [1-9]", scrape);
            Assert.False(AgentApi.Status(socket).DropsByReason.ContainsKey("POLICY_DENIED (133)"), "audit mode dropped something");
            peerServer.Dispose();
            nodeServer.Dispose();
            Assert.True(fwd.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + fwd.Output);
        }
        finally
        {
            output.WriteLine(fwd.Output);
        }
    }
}
