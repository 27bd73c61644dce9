using System.Net;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Config;

/// <summary>LB-IPAM: CiliumLoadBalancerIPPool gives LoadBalancer services addresses, the same on every load.</summary>
public class LbIpamTests
{
    private static string Service(string name, string labels = "{app: web}", string type = "LoadBalancer", string clusterIp = "", string status = "") => "\n" + $"""
        ---
        apiVersion: v1
        kind: Service
        metadata: {"{"}name: {name}, namespace: default, labels: {labels}{"}"}
        spec:
          type: {type}
          {(clusterIp.Length > 0 ? $"clusterIP: {clusterIp}" : "clusterIP: None")}
          ports: [{"{"}port: 80, targetPort: 8080, protocol: TCP{"}"}]
        {status}
        """;

    private const string Pool = "\n" + """
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumLoadBalancerIPPool
        metadata: {name: blue}
        spec:
          blocks:
          - cidr: 198.18.240.0/29
          serviceSelector: {matchLabels: {app: web}}
        """;

    /// <summary>A pool and a LoadBalancer service it serves (a seed of the config fuzz test).</summary>
    internal static string PoolAndService => Pool + Service("a", clusterIp: "198.19.200.1");

    private static Dictionary<string, IPAddress> Ips(ConfigModel m) =>
        m.LbIpAllocations.ToDictionary(a => a.Service, a => a.Ip);

    [Fact]
    public void AllocatesFromTheSelectingPoolAndTheSameOnEveryLoad()
    {
        var yaml = Pool + Service("a", clusterIp: "198.19.200.1") + Service("b", clusterIp: "198.19.200.2") + Service("c", clusterIp: "198.19.200.3");
        var m = ConfigYaml.Load(yaml);
        Assert.Equal(3, m.LbIpAllocations.Length);
        var block = IPNetwork.Parse("198.18.240.0/29");
        Assert.All(m.LbIpAllocations, a => Assert.True(block.Contains(a.Ip) && a.Pool == "blue", a.ToString()));
        Assert.Equal(3, m.LbIpAllocations.Select(a => a.Ip).Distinct().Count());
        // The service carries it: it is a frontend like a status.loadBalancer.ingress address.
        foreach (var a in m.LbIpAllocations)
            Assert.Contains(a.Ip, m.Services.Single(s => s.Name == a.Service).LoadBalancerIps);

        // A restart (same files) and another order of documents give the same addresses.
        Assert.Equal(Ips(m), Ips(ConfigYaml.Load(yaml)));
        Assert.Equal(Ips(m), Ips(ConfigYaml.Load(Service("c", clusterIp: "198.19.200.3") + Pool + Service("b", clusterIp: "198.19.200.2") + Service("a", clusterIp: "198.19.200.1"))));
    }

    [Fact]
    public void CompiledServiceAnswersOnTheAllocatedAddress()
    {
        var m = ConfigYaml.Load(Pool + Service("a", clusterIp: "198.19.200.1"));
        var ip = Assert.Single(m.LbIpAllocations).Ip;
        // node-b's IPv6 pod CIDR has no route in this fixture; the service needs only this node.
        var snapshot = SnapshotCompiler.Compile(m with { Nodes = [m.LocalNode] });
        Assert.Contains(snapshot.Services.Frontends.All(), f => f.Family == 4 && f.Addr == RoutePrefix.ToUInt32(ip) && f.Port == 80);
    }

    [Fact]
    public void KeepsGivenAddressesAndSkipsWhatIsTakenOrNotSelected()
    {
        // b holds 198.18.240.0..5 between its ingress addresses and ClusterIP-less neighbours: a gets what is left.
        var status = "status: {loadBalancer: {ingress: [{ip: 198.18.240.0}, {ip: 198.18.240.1}, {ip: 198.18.240.2}, {ip: 198.18.240.3}, {ip: 198.18.240.4}, {ip: 198.18.240.5}, {ip: 198.18.240.6}]}}";
        var m = ConfigYaml.Load(Pool + Service("a") + Service("b", status: status) + Service("other", labels: "{app: db}") + Service("cip", type: "ClusterIP", clusterIp: "198.19.200.9"));
        var a = Assert.Single(m.LbIpAllocations);
        Assert.Equal(("a", IPAddress.Parse("198.18.240.7")), (a.Service, a.Ip));
        Assert.Equal(7, m.Services.Single(s => s.Name == "b").LoadBalancerIps.Length);
        var pending = Assert.Single(m.LbIpPending);
        Assert.Equal("other", pending.Service);
        Assert.Contains("no enabled pool", pending.Reason);
        Assert.Empty(m.Services.Single(s => s.Name == "cip").LoadBalancerIps);
    }

    [Fact]
    public void ExhaustedDisabledAndFirstLastRules()
    {
        const string small = """
            ---
            apiVersion: cilium.io/v2
            kind: CiliumLoadBalancerIPPool
            metadata: {name: small}
            spec:
              allowFirstLastIPs: "No"
              blocks: [{cidr: 198.18.241.0/30}, {start: 198.18.242.7, stop: 198.18.242.7}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumLoadBalancerIPPool
            metadata: {name: off}
            spec: {disabled: true, blocks: [{cidr: 198.18.243.0/24}]}
            """ + "\n";
        var m = ConfigYaml.Load(small + Service("a") + Service("b") + Service("c"));
        // /30 without its first and last: .1 and .2; the start/stop range is not a CIDR and keeps its one address.
        Assert.Equal(["198.18.241.1", "198.18.241.2", "198.18.242.7"], m.LbIpAllocations.Select(x => x.Ip.ToString()).Order());
        m = ConfigYaml.Load(small + Service("a") + Service("b") + Service("c") + Service("d"));
        Assert.Contains("no free IPv4 address", Assert.Single(m.LbIpPending).Reason);
    }

    [Theory]
    [InlineData("- cidr: 198.18.240.0/29", "- cidr: 198.18.240.1/29", 8, "has host bits set")]
    [InlineData("- cidr: 198.18.240.0/29", "- {start: 198.18.240.9, stop: 198.18.240.1}", 8, "is before start")]
    [InlineData("- cidr: 198.18.240.0/29", "- {start: 198.18.240.1, stop: 2001:db8::1}", 8, "is not the family of start")]
    [InlineData("- cidr: 198.18.240.0/29", "- {cidr: 198.18.240.0/29, start: 198.18.240.1}", 8, "either cidr or start/stop")]
    [InlineData("- cidr: 198.18.240.0/29", "- cidr: 198.18.240.0/29\n  - cidr: 198.18.240.4/30", 9, "overlaps block 198.18.240.0-198.18.240.7 of the same pool")]
    public void BadPoolsAreBlamedAtTheirLine(string from, string to, int line, string reason) =>
        DocumentErrorTests.AssertFails(Pool.Replace(from, to), line, reason);

    [Fact]
    public void OverlappingPoolsAreRefused() =>
        DocumentErrorTests.AssertFails(Pool + Pool.Replace("name: blue", "name: green").Replace("198.18.240.0/29", "198.18.240.4/30"), 16,
            "overlaps block 198.18.240.0-198.18.240.7 of pool blue");
}
