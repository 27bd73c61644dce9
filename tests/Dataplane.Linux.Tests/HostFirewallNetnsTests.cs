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

    [SkippableTheory]
    [InlineData("xdp")]
    [InlineData("tc")]
    public void HostPolicyServesTheAllowedPortAndDropsTheOtherBeforeTheKernel(string hook)
    {
        Requires.RootAnd("ip", "python3");
        using var set = new NetnsSet("dph");
        string node = set.Add("n"), client = set.Add("c");
        string config = set.Dir("cfg");
        set.Veth("eth0", node, "eth0", client);
        Sh.Must("ip", "-n", node, "addr", "add", "198.18.40.1/24", "dev", "eth0");
        Sh.Must("ip", "-n", client, "addr", "add", "198.18.40.2/24", "dev", "eth0");
        NetnsSet.Up(node, "eth0");
        NetnsSet.Up(client, "eth0");
        string mac = NetnsSet.Mac(node, "eth0");
        int allowed = 20000 + Random.Shared.Next(20000), denied = allowed + 1;
        string a = allowed.ToString(CultureInfo.InvariantCulture), d = denied.ToString(CultureInfo.InvariantCulture);
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
              routerMac: "02:00:00:00:00:99"
              interfaces:
                - {name: eth0, mac: "{{{mac}}}", addresses: ["198.18.40.1/24"]}

            """);
        string policyFile = Path.Combine(config, "host-policy.yaml");
        File.WriteAllText(policyFile, Policy("admin", allowed));

        string socket = PodTopology.SocketOf(config);
        string flows = Path.Combine(config, ".agent", "flows.jsonl");
        string dll = Path.Combine(AppContext.BaseDirectory, "dataplane-node.dll");
        var fwd = set.Start(node, ["dotnet", dll, "run", "--config", config, "--backend", "ebpf", "--ebpf-hook", hook,
            "--bpf-pin-dir", "", "--ct-max", "4096", "--flows-file", flows, .. PodTopology.AgentArgs(config)]);
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

            Sh.Result dropped = default!;
            string? line = null;
            for (int i = 0; i < 50 && line is null; i++)
            {
                dropped = Sh.Run(Short, "dotnet", dll, "observe", "--socket", socket, "--verdict", "DROPPED", "-o", "json");
                line = dropped.Output.Split('\n').FirstOrDefault(l => l.Contains($"\"destination_port\":{d}"));
                if (line is null) Thread.Sleep(200);
            }
            Assert.True(line is not null, $"no DROPPED flow to port {d} in `observe`:\n" + dropped.Output);
            Assert.Contains("\"drop_reason_desc\":\"POLICY_DENIED\"", line);
            Assert.Contains("\"traffic_direction\":\"INGRESS\"", line);
            Assert.Contains("reserved:host", line);

            // The policy now selects other nodes only: the host endpoint is open again, the same port is served.
            long generation = status.Generation;
            File.WriteAllText(policyFile, Policy("other", allowed));
            for (int i = 0; i < 100 && AgentApi.Status(socket).Generation == generation; i++) Thread.Sleep(100);
            Assert.NotEqual(generation, AgentApi.Status(socket).Generation);
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
}
