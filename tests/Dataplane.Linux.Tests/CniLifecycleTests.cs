using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// `dataplane-cni` driven the way a runtime drives it — CNI_* environment, configuration on stdin — against
/// network namespaces made here, with `dataplane-node run` as the agent: ADD wires a pod the agent forwards
/// for at once, CHECK verifies, DEL frees everything and is idempotent, errors carry the spec's codes; the IPAM
/// store and the registered endpoints survive an agent restart; a pod added or removed at runtime does not cost
/// the other pods a packet.
/// </summary>
public sealed class CniLifecycleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);

    private static void RequireRoot()
    {
        Requires.RootAnd("ip", "ping");
    }

    [SkippableFact]
    public void AddCheckDelAndErrorsFollowTheSpec()
    {
        RequireRoot();
        using var node = new CniNode();
        var agent = node.StartAgent();
        try
        {
            var version = node.Plugin("VERSION", null, null, null, """{"cniVersion":"0.4.0"}""");
            Assert.Equal(0, version.ExitCode);
            Assert.Equal("0.4.0", version.Json["cniVersion"]!.GetValue<string>());
            Assert.Equal(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"], version.Json["supportedVersions"]!.AsArray().Select(v => v!.GetValue<string>()));

            string webNs = node.NewPodNamespace("web"), dbNs = node.NewPodNamespace("db");
            // Errors: the spec's codes, as JSON on stdout, exit status non-zero.
            AssertError(node.Plugin("ADD", null, CniNode.NetnsPath(webNs), "eth0", node.NetConf()), 4, "CNI_CONTAINERID");
            AssertError(node.Plugin("ADD", "c-web", "/var/run/netns/dpt-none-" + node.Suffix, "eth0", node.NetConf()), 3, "does not exist");
            AssertError(node.Plugin("ADD", "c-web", CniNode.NetnsPath(webNs), "eth0", node.NetConf(version: "9.9.9")), 1, "9.9.9");
            AssertError(node.Plugin("ADD", "c-web", CniNode.NetnsPath(webNs), "eth0", "{\"cniVersion\":"), 6, "JSON");
            AssertError(node.Plugin("ADD", "c-web", CniNode.NetnsPath(webNs), "eth0", """{"cniVersion":"1.0.0","type":"dataplane-cni"}"""), 7, "name");
            AssertError(node.Plugin("ADD", "c-web", CniNode.NetnsPath(webNs), "eth0",
                $$$"""{"cniVersion":"1.0.0","name":"{{{node.NetworkName}}}","agentSocket":"{{{node.SocketPath}}}","ipam":{"type":"no-such-ipam"}}"""), 4, "not in CNI_PATH");
            AssertError(node.Plugin("BOGUS", "c-web", CniNode.NetnsPath(webNs), "eth0", node.NetConf()), 4, "BOGUS");
            Assert.Empty(node.Status().Endpoints);

            var add = node.Plugin("ADD", "c-web", CniNode.NetnsPath(webNs), "eth0",
                node.NetConf(extra: ""","args":{"cni":{"labels":[{"key":"app","value":"web"}]}}"""), "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web");
            Assert.True(add.ExitCode == 0, add.Stdout + add.Stderr + agent.Output);
            var result = add.Json;
            output.WriteLine(add.Stdout);
            Assert.Equal("1.0.0", result["cniVersion"]!.GetValue<string>());
            var podIf = result["interfaces"]![1]!;
            Assert.Equal("eth0", podIf["name"]!.GetValue<string>());
            Assert.Equal(CniNode.NetnsPath(webNs), podIf["sandbox"]!.GetValue<string>());
            string hostIf = result["interfaces"]![0]!["name"]!.GetValue<string>();
            Assert.Matches("^lxc[0-9a-f]{12}$", hostIf);
            string webAddr = result["ips"]![0]!["address"]!.GetValue<string>();
            Assert.Matches(@"^198\.18\.100\.\d+/24$", webAddr);
            Assert.Equal("198.18.100.1", result["ips"]![0]!["gateway"]!.GetValue<string>());
            Assert.Equal(1, result["ips"]![0]!["interface"]!.GetValue<int>());
            Assert.Equal("0.0.0.0/0", result["routes"]![0]!["dst"]!.GetValue<string>());
            // The container really has what the result says.
            Assert.Contains($"inet {webAddr}", Sh.Must("ip", "-n", webNs, "-4", "addr", "show", "eth0"));
            Assert.Contains("default via 198.18.100.1 dev eth0", Sh.Must("ip", "-n", webNs, "route"));
            Assert.Contains(podIf["mac"]!.GetValue<string>(), Sh.Must("ip", "-n", webNs, "link", "show", "eth0"));

            string dbIp = node.Add("c-db", dbNs, "K8S_POD_NAMESPACE=shop;K8S_POD_NAME=db");
            Assert.NotEqual(webAddr.Split('/')[0], dbIp);
            var status = node.Status();
            var web = Assert.Single(status.Endpoints, e => e.Name == "web");
            Assert.Equal(("shop", hostIf, "cni"), (web.Namespace, web.HostInterface, web.Source));
            Assert.True(web.Identity >= 256, "pods get identities from 256");
            Assert.Contains(status.Ports, p => p.Name == hostIf && p.Attached);

            // Through the dataplane: the TTL is decremented by its router.
            var ping = node.Exec(webNs, Short, "ping", "-c", "3", "-i", "0.2", "-W", "2", dbIp);
            Assert.True(ping.Ok, ping.Output + agent.Output);
            Assert.Contains("ttl=63", ping.Output);

            var check = node.Plugin("CHECK", "c-web", CniNode.NetnsPath(webNs), "eth0", node.NetConf());
            Assert.True(check.ExitCode == 0 && check.Stdout.Trim().Length == 0, check.Stdout + check.Stderr);
            Sh.Must("ip", "-n", webNs, "route", "del", "default");
            AssertError(node.Plugin("CHECK", "c-web", CniNode.NetnsPath(webNs), "eth0", node.NetConf()), 999, "default route");
            AssertError(node.Plugin("CHECK", "c-web", CniNode.NetnsPath(webNs), "eth0", node.NetConf(version: "0.3.1")), 1, "CHECK");

            var del = node.Plugin("DEL", "c-web", CniNode.NetnsPath(webNs), "eth0", node.NetConf());
            Assert.True(del.ExitCode == 0, del.Stdout + del.Stderr);
            Assert.False(Sh.Run("ip", "-n", node.DataplaneNs, "link", "show", hostIf).Ok, "host veth left behind");
            Assert.False(Sh.Run("ip", "-n", webNs, "link", "show", "eth0").Ok, "pod interface left behind");
            Assert.False(File.Exists(Path.Combine(node.IpamDir, node.NetworkName, webAddr.Split('/')[0])), "address still allocated");
            Assert.DoesNotContain(node.Status().Endpoints, e => e.Name == "web");
            Assert.True(agent.WaitFor($"run: port {hostIf}: detached", Short), agent.Output);
            // Idempotent, also once the namespace is gone; CHECK now fails.
            Assert.Equal(0, node.Plugin("DEL", "c-web", CniNode.NetnsPath(webNs), "eth0", node.NetConf()).ExitCode);
            Sh.Must("ip", "netns", "del", webNs);
            Assert.Equal(0, node.Plugin("DEL", "c-web", CniNode.NetnsPath(webNs), "eth0", node.NetConf()).ExitCode);
            Assert.NotEqual(0, node.Plugin("CHECK", "c-db", CniNode.NetnsPath(dbNs), "eth1", node.NetConf()).ExitCode);
        }
        finally { output.WriteLine(agent.Output); }
    }

    [SkippableFact]
    public void AddressesAndEndpointsSurviveAnAgentRestartAndAFullRangeIsAnError()
    {
        RequireRoot();
        using var node = new CniNode();
        var agent = node.StartAgent();
        string aNs = node.NewPodNamespace("a"), bNs = node.NewPodNamespace("b"), cNs = node.NewPodNamespace("c");
        string a = node.Add("c-a", aNs), b = node.Add("c-b", bNs);
        Assert.True(node.Exec(aNs, Short, "ping", "-c", "2", "-W", "2", b).Ok, agent.Output);

        Assert.True(agent.Stop(TimeSpan.FromSeconds(20)), "agent did not stop on SIGTERM:\n" + agent.Output);
        Assert.Equal(0, agent.ExitCode);
        Assert.Contains("exit: rx ", agent.Output);
        Assert.False(File.Exists(node.SocketPath), "socket left behind");
        output.WriteLine(agent.Output);

        var again = node.StartAgent();
        try
        {
            Assert.True(again.WaitFor("run: forwarding on 2 port(s)", Short), again.Output);
            var status = node.Status();
            Assert.Equal(2, status.Endpoints.Count(e => e.Source == "cni"));
            var ping = node.Exec(aNs, Short, "ping", "-c", "2", "-W", "2", b);
            Assert.True(ping.Ok, ping.Output + again.Output);
            // The allocator continues where it was: a third pod gets neither address.
            string c = node.Add("c-c", cNs);
            Assert.DoesNotContain(c, new[] { a, b });

            // A range with room for one pod: the second ADD fails with the plugin's "exhausted" code and leaves nothing.
            string tiny = $$$"""{"cniVersion":"1.0.0","name":"tiny-{{{node.Suffix}}}","agentSocket":"{{{node.SocketPath}}}","ipam":{"dataDir":"{{{node.IpamDir}}}","subnets":["198.18.100.248/30"]}}""";
            string dNs = node.NewPodNamespace("d"), eNs = node.NewPodNamespace("e");
            var d = node.Plugin("ADD", "c-d", CniNode.NetnsPath(dNs), "eth0", tiny);
            Assert.True(d.ExitCode == 0, d.Stdout + d.Stderr);
            Assert.StartsWith("198.18.100.250/30", d.Json["ips"]![0]!["address"]!.GetValue<string>());
            var e = node.Plugin("ADD", "c-e", CniNode.NetnsPath(eNs), "eth0", tiny);
            AssertError(e, 100, "no free address");
            Assert.False(Sh.Run("ip", "-n", eNs, "link", "show", "eth0").Ok, "failed ADD left an interface");
            Assert.Equal(3 + 1, node.Status().Endpoints.Count);
        }
        finally { output.WriteLine(again.Output); }
    }

    [SkippableFact]
    public void DualStackNodeGivesPodsAnAddressOfEachFamilyAndRoutesBoth()
    {
        RequireRoot();
        using var node = new CniNode(podCidrV6: "fd00:18:100::/64");
        var agent = node.StartAgent();
        try
        {
            string aNs = node.NewPodNamespace("a6"), bNs = node.NewPodNamespace("b6");
            node.Add("c-a", aNs);
            var add = node.Plugin("ADD", "c-b", CniNode.NetnsPath(bNs), "eth0", node.NetConf());
            Assert.True(add.ExitCode == 0, add.Stdout + add.Stderr);
            var ips = add.Json["ips"]!.AsArray().Select(i => i!["address"]!.GetValue<string>()).ToList();
            Assert.Equal(2, ips.Count);
            Assert.StartsWith("198.18.100.", ips[0]);
            Assert.StartsWith("fd00:18:100::", ips[1]);
            Assert.Equal("fd00:18:100::1", add.Json["ips"]![1]!["gateway"]!.GetValue<string>());
            Assert.Equal("::/0", add.Json["routes"]![1]!["dst"]!.GetValue<string>());
            foreach (var ip in ips)
            {
                var ping = node.Exec(aNs, Short, "ping", "-c", "3", "-i", "0.2", "-W", "2", ip.Split('/')[0]);
                Assert.True(ping.Ok && ping.Output.Contains("ttl=63"), ping.Output + agent.Output);
            }
            Assert.Equal(0, node.Plugin("CHECK", "c-b", CniNode.NetnsPath(bNs), "eth0", node.NetConf()).ExitCode);
            Assert.Equal(2, Assert.Single(node.Status().Endpoints, e => e.Name == "c-b").Ips.Count);
        }
        finally { output.WriteLine(agent.Output); }
    }

    [SkippableTheory]
    [InlineData("af_packet")]
    [InlineData("af_xdp")]
    public void PodsAddedAndRemovedAtRuntimeCostTheOthersNoPacket(string backend)
    {
        RequireRoot();
        using var node = new CniNode();
        var agent = node.StartAgent(backend);
        try
        {
            // Ports are numbered by namespace/name: "m-middle" sorts between the two, so adding it renumbers z-server's port.
            string clientNs = node.NewPodNamespace("cl"), serverNs = node.NewPodNamespace("sv"), middleNs = node.NewPodNamespace("mi");
            node.Add("c-client", clientNs, "K8S_POD_NAME=a-client");
            string server = node.Add("c-server", serverNs, "K8S_POD_NAME=z-server");
            Assert.True(node.Exec(clientNs, Short, "ping", "-c", "2", "-W", "2", server).Ok, agent.Output);

            var stream = node.Start(clientNs, "ping", "-c", "600", "-i", "0.01", "-W", "5", server);
            Thread.Sleep(500);
            string middle = node.Add("c-middle", middleNs, "K8S_POD_NAME=m-middle");
            Assert.True(node.Exec(middleNs, Short, "ping", "-c", "2", "-W", "2", server).Ok, "the new pod cannot reach the server:\n" + agent.Output);
            Assert.Equal(0, node.Plugin("DEL", "c-middle", CniNode.NetnsPath(middleNs), "eth0", node.NetConf()).ExitCode);
            Assert.True(stream.WaitFor("packet loss", TimeSpan.FromSeconds(70)), stream.Output);
            output.WriteLine(string.Join("\n", stream.Output.Split('\n').TakeLast(4)));
            PingAssert.EveryRequestAnswered(stream.Output, sent: 600);
            Assert.Contains("agent: endpoint default/m-middle", agent.Output);
            Assert.Matches(@"generation [4-9]", agent.Output);
        }
        finally { output.WriteLine(agent.Output); }
    }

    private static void AssertError(CniNode.PluginResult r, int code, string text)
    {
        Assert.True(r.ExitCode != 0, $"expected failure, got exit 0: {r.Stdout}");
        var e = r.Json;
        Assert.True(e["code"]!.GetValue<int>() == code, $"expected code {code}: {r.Stdout}");
        Assert.Contains(text, e["msg"]!.GetValue<string>() + " " + (e["details"]?.GetValue<string>() ?? ""));
        Assert.NotNull(e["cniVersion"]);
    }
}
