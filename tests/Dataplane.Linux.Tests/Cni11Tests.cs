using System.Text.Json.Nodes;
using Dataplane.Linux.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Linux.Tests;

/// <summary>
/// CNI 1.1 as a runtime drives it (CNI_* environment, configuration on stdin): STATUS answers ready only while
/// the agent does (else code 50), GC removes every attachment not in <c>cni.dev/valid-attachments</c> — agent
/// endpoint, veth pair, addresses — and keeps the others working; <c>ipam: {type: host-local}</c> is delegated to
/// Debian's host-local binary from CNI_PATH (its store holds the addresses, its ranges and routes are what the
/// pods get, DEL and GC free them there).
/// </summary>
public sealed class Cni11Tests(ITestOutputHelper output)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(20);
    private const string HostLocal = "/usr/lib/cni/host-local";

    [SkippableFact]
    public void Status_FollowsTheAgent_Gc_RemovesOnlyStaleAttachments()
    {
        Requires.RootAnd("ip", "ping");
        using var node = new CniNode();
        string conf = node.NetConf(version: "1.1.0");
        AssertError(node.Plugin("STATUS", null, null, null, conf), 50, "plugin not available");

        var agent = node.StartAgent();
        try
        {
            var ready = node.Plugin("STATUS", null, null, null, conf);
            Assert.True(ready.ExitCode == 0 && ready.Stdout.Trim() == "", ready.Stdout + ready.Stderr);

            string aNs = node.NewPodNamespace("a"), bNs = node.NewPodNamespace("b");
            var a = Add(node, "c-a", aNs, conf);
            var b = Add(node, "c-b", bNs, conf);
            Assert.Equal("1.1.0", a["cniVersion"]!.GetValue<string>());
            string bIp = Ip(b), bHostIf = b["interfaces"]![0]!["name"]!.GetValue<string>();
            Assert.True(node.Exec(aNs, Short, "ping", "-c", "2", "-W", "2", bIp).Ok, agent.Output);
            Assert.True(File.Exists(Path.Combine(node.IpamDir, node.NetworkName, bIp)));

            var gc = node.Plugin("GC", null, null, null, WithValid(conf, ("c-a", "eth0")));
            Assert.True(gc.ExitCode == 0, gc.Stdout + gc.Stderr);
            Assert.False(Sh.Run("ip", "-n", node.DataplaneNs, "link", "show", bHostIf).Ok, "GC left the stale host veth");
            Assert.False(Sh.Run("ip", "-n", bNs, "link", "show", "eth0").Ok, "GC left the stale pod end");
            Assert.False(File.Exists(Path.Combine(node.IpamDir, node.NetworkName, bIp)), "GC left the stale address allocated");
            Assert.Equal(["c-a"], node.Status().Endpoints.Select(e => e.Name));
            // The valid attachment is untouched: CHECK (veth, address, route, IPAM record, agent endpoint) passes.
            var check = node.Plugin("CHECK", "c-a", CniNode.NetnsPath(aNs), "eth0", conf);
            Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);

            Assert.True(agent.Stop(TimeSpan.FromSeconds(20)), agent.Output);
            AssertError(node.Plugin("STATUS", null, null, null, conf), 50, "does not answer");
        }
        finally { output.WriteLine(agent.Output); }
    }

    [SkippableFact]
    public void HostLocalIpam_IsDelegatedToTheStandardPlugin()
    {
        Requires.RootAnd("ip", "ping");
        Skip.IfNot(File.Exists(HostLocal), $"{HostLocal} is missing (Debian: containernetworking-plugins)");
        using var node = new CniNode();
        string store = Path.Combine(node.Dir, "host-local");
        // As conflists in the wild write it; cniVersion 1.1.0 although Debian's host-local stops at 1.0.0.
        string conf = $$$"""
            {"cniVersion":"1.1.0","name":"{{{node.NetworkName}}}","type":"dataplane-cni","agentSocket":"{{{node.SocketPath}}}",
             "dataDir":"{{{Path.Combine(node.Dir, "state")}}}",
             "ipam":{"type":"host-local","ranges":[[{"subnet":"198.18.100.0/24","rangeStart":"198.18.100.50","gateway":"198.18.100.1"}]],
                     "routes":[{"dst":"0.0.0.0/0"},{"dst":"198.18.200.0/24","gw":"198.18.100.1"}],"dataDir":"{{{store}}}" } }
            """;
        var agent = node.StartAgent();
        try
        {
            string aNs = node.NewPodNamespace("a"), bNs = node.NewPodNamespace("b");
            var a = Add(node, "h-a", aNs, conf);
            var b = Add(node, "h-b", bNs, conf);
            output.WriteLine(a.ToJsonString());
            // host-local's range and store, not the built-in allocator (which would start at .2).
            Assert.Equal("198.18.100.50/24", a["ips"]![0]!["address"]!.GetValue<string>());
            Assert.Equal("198.18.100.51/24", b["ips"]![0]!["address"]!.GetValue<string>());
            Assert.True(File.Exists(Path.Combine(store, node.NetworkName, "198.18.100.50")));
            Assert.Contains(a["routes"]!.AsArray(), r => r!["dst"]!.GetValue<string>() == "198.18.200.0/24");
            var routes = JsonNode.Parse(Sh.Must("ip", "-j", "-n", aNs, "route", "show"))!.AsArray();
            Assert.Contains(routes, r => r!["dst"]!.GetValue<string>() == "default" && r["gateway"]!.GetValue<string>() == "198.18.100.1");
            Assert.Contains(routes, r => r!["dst"]!.GetValue<string>() == "198.18.200.0/24" && r["gateway"]!.GetValue<string>() == "198.18.100.1");
            Assert.True(node.Exec(aNs, Short, "ping", "-c", "2", "-W", "2", "198.18.100.51").Ok, agent.Output);

            var check = node.Plugin("CHECK", "h-a", CniNode.NetnsPath(aNs), "eth0", conf);
            Assert.True(check.ExitCode == 0, check.Stdout + check.Stderr);

            var gc = node.Plugin("GC", null, null, null, WithValid(conf, ("h-a", "eth0")));
            Assert.True(gc.ExitCode == 0, gc.Stdout + gc.Stderr);
            Assert.False(File.Exists(Path.Combine(store, node.NetworkName, "198.18.100.51")), "GC left host-local's allocation");
            Assert.False(Sh.Run("ip", "-n", bNs, "link", "show", "eth0").Ok, "GC left the stale pod end");
            Assert.True(File.Exists(Path.Combine(store, node.NetworkName, "198.18.100.50")));

            var del = node.Plugin("DEL", "h-a", CniNode.NetnsPath(aNs), "eth0", conf);
            Assert.True(del.ExitCode == 0, del.Stdout + del.Stderr);
            Assert.False(File.Exists(Path.Combine(store, node.NetworkName, "198.18.100.50")), "DEL was not delegated");
            Assert.Empty(node.Status().Endpoints);
        }
        finally { output.WriteLine(agent.Output); }
    }

    private static JsonObject Add(CniNode node, string id, string ns, string conf)
    {
        var r = node.Plugin("ADD", id, CniNode.NetnsPath(ns), "eth0", conf);
        Assert.True(r.ExitCode == 0, $"ADD {id}: {r.Stdout}{r.Stderr}");
        return r.Json;
    }

    private static string Ip(JsonObject result) => result["ips"]![0]!["address"]!.GetValue<string>().Split('/')[0];

    private static string WithValid(string conf, params (string Id, string IfName)[] valid)
    {
        var o = JsonNode.Parse(conf)!.AsObject();
        o["cni.dev/valid-attachments"] = new JsonArray([.. valid.Select(v => (JsonNode)new JsonObject { ["containerID"] = v.Id, ["ifname"] = v.IfName })]);
        return o.ToJsonString();
    }

    private static void AssertError(CniNode.PluginResult r, int code, string text)
    {
        Assert.True(r.ExitCode != 0, $"expected failure, got exit 0: {r.Stdout}");
        var e = r.Json;
        Assert.True(e["code"]!.GetValue<int>() == code, $"expected code {code}: {r.Stdout}");
        Assert.Contains(text, e["msg"]!.GetValue<string>() + " " + (e["details"]?.GetValue<string>() ?? ""));
    }
}
