using Dataplane.Control.Config;
using static Dataplane.Core.Tests.Config.DocumentErrorTests;

namespace Dataplane.Core.Tests.Config;

/// <summary>Node, Pod and cross-object rules. The base cluster is ConfigYaml.Nodes + ConfigYaml.Local.</summary>
public class ClusterValidationTests
{
    /// <summary>A Pod document; name on line 4, nodeName on line 6, IPs from line 9. 8 + ips lines long.</summary>
    private static string Pod(string name, string node, params string[] ips) =>
        $"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  nodeName: {node}\nstatus:\n  podIPs:\n"
        + string.Concat(ips.Select(ip => $"  - ip: \"{ip}\"\n"));

    /// <summary>A Node document; podCIDRs from line 6.</summary>
    private static string Node(string name, params string[] cidrs) =>
        $"apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\nspec:\n"
        + (cidrs.Length == 0 ? "" : "  podCIDRs:\n" + string.Concat(cidrs.Select(c => $"  - \"{c}\"\n")));

    [Theory]
    [InlineData("198.19.1.300")]
    [InlineData("198.19.1")]            // BCL would read this as 198.19.0.1
    [InlineData("198.019.1.1")]         // ... and this as octal
    [InlineData("fd00:1::1%eth0")]
    [InlineData("[fd00:1::1]")]
    [InlineData("pod-ip")]
    public void InvalidIp(string ip) => AssertFails(Pod("p", "node-a", ip), 9, $"invalid IP address '{ip}'");

    [Theory]
    [InlineData("198.19.9.0/33")]
    [InlineData("198.19.9.0")]
    [InlineData("fd00:9::/129")]
    [InlineData("198.19.9.0/024")]
    [InlineData("198.19.9.0/")]
    public void InvalidCidr(string cidr) => AssertFails(Node("node-c", cidr), 7, $"invalid CIDR '{cidr}'");

    [Theory]
    [InlineData("198.19.9.1/24", "198.19.9.0/24")]
    [InlineData("fd00:9::1/64", "fd00:9::/64")]
    public void PodCidrWithHostBits(string cidr, string meant) =>
        AssertFails(Node("node-c", cidr), 7, $"spec.podCIDRs[0]: CIDR '{cidr}' has host bits set (did you mean {meant}?)");

    [Fact]
    public void PodCidrMustAgreeWithPodCidrs() =>
        AssertFails(Node("node-c", "198.19.9.0/24") + "  podCIDR: 198.19.8.0/24\n", 8,
            "spec.podCIDR 198.19.8.0/24 must equal spec.podCIDRs[0] (198.19.9.0/24)");

    [Fact]
    public void PodIpMustAgreeWithPodIps() =>
        AssertFails(Pod("p", "node-a", "198.19.1.5") + "  podIP: 198.19.1.6\n", 10,
            "status.podIP 198.19.1.6 must equal status.podIPs[0].ip (198.19.1.5)");

    [Fact]
    public void DuplicatePodInOneFile() =>
        AssertFails(Pod("p", "node-a", "198.19.1.5") + "---\n" + Pod("p", "node-a", "198.19.1.6"), 14,
            "duplicate Pod default/p (first defined at 50-test.yaml:1:1)");

    [Fact]
    public void SameNameInAnotherNamespaceIsNotADuplicate()
    {
        var m = ConfigYaml.Load(Pod("p", "node-a", "198.19.1.5") + "---\n"
                                + Pod("p", "node-a", "198.19.1.6").Replace("  name: p\n", "  name: p\n  namespace: other\n"));
        Assert.Equal(["default", "other"], m.Pods.Select(p => p.Namespace));
    }

    [Fact]
    public void DuplicateNodeAcrossFiles() =>
        AssertFails(Node("node-a"), 4, "duplicate Node node-a (first defined at 00-nodes.yaml:1:1)");

    [Fact]
    public void TwoPodsWithTheSameIp() =>
        AssertFails(Pod("p1", "node-a", "198.19.1.5") + "---\n" + Pod("p2", "node-a", "fd00:1::5", "198.19.1.5"), 20,
            "pod IP 198.19.1.5 is already used by pod default/p1 (at 50-test.yaml:1:1)");

    [Fact]
    public void PodIpEqualToNodeInternalIp() =>
        AssertFails("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nstatus:\n  podIP: 198.18.0.11\n", 6,
            "pod IP 198.18.0.11 is an InternalIP of node node-b");

    [Fact]
    public void PodIpEqualToInterfaceAddress() =>
        AssertFails("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nstatus:\n  podIP: 198.18.1.1\n", 6,
            "pod IP 198.18.1.1 is an address of interface eth1");

    [Theory]
    [InlineData("198.19.2.5")]
    [InlineData("fd00:2::5")]
    public void PodIpOutsideItsNodesPodCidrs(string ip) =>
        AssertFails(Pod("p", "node-a", ip), 9,
            $"pod IP {ip} is not inside the pod CIDRs of node node-a (198.19.1.0/24, fd00:1::/64)");

    [Fact]
    public void PodIpsAreUncheckedWhenTheNodeHasNoPodCidrs()
    {
        var m = ConfigYaml.Load(Node("node-c") + "---\n" + Pod("p", "node-c", "198.19.77.1"));
        Assert.Equal("node-c", m.Pods.Single().NodeName);
    }

    [Fact]
    public void PodOnUnknownNode() =>
        AssertFails(Pod("p", "node-z", "198.19.1.5"), 6, "pod default/p is on node node-z, which has no Node object");

    [Fact]
    public void PodCidrsOfTwoNodesOverlap() =>
        AssertFails(Node("node-c", "198.19.3.0/24", "198.19.1.128/25"), 8,
            "pod CIDR 198.19.1.128/25 of node node-c overlaps pod CIDR 198.19.1.0/24 of node node-a");

    [Fact]
    public void PodCidrsOfOneNodeOverlap() =>
        AssertFails(Node("node-c", "fd00:9::/64", "fd00:9::/48"), 8, "pod CIDR fd00:9::/48 overlaps fd00:9::/64 of the same node");

    [Fact]
    public void PodMacAnnotationMustBeValidUnicast()
    {
        const string pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    dataplane.io/mac: \"{0}\"\n";
        AssertFails(string.Format(pod, "02:00:00:00:00"), 6, "invalid MAC address '02:00:00:00:00'");
        AssertFails(string.Format(pod, "03:00:00:00:00:01"), 6, "MAC address 03:00:00:00:00:01 is multicast");
    }

    [Fact]
    public void LocalPodMacMustNotCollideWithInterfaceMac() =>
        AssertFails("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    dataplane.io/mac: \"02:00:00:00:00:01\"\n"
                    + "spec:\n  nodeName: node-a\n", 6,
            "MAC address 02:00:00:00:00:01 is already used by interface eth0 (at 10-local.yaml:9:10)");

    [Fact]
    public void RemotePodMayReuseALocalMac() =>
        Assert.Single(ConfigYaml.Load("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
                                      + "    dataplane.io/mac: \"02:00:00:00:00:01\"\nspec:\n  nodeName: node-b\n").Pods);

    [Fact]
    public void DataplaneNodeMissing()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigYaml.Load(Node("node-c"), withLocal: false));
        Assert.Equal(new SourceLocation("00-nodes.yaml", 0, 0), e.Location);
        Assert.Contains("no DataplaneNode", e.Reason);
    }

    [Fact]
    public void DataplaneNodeMissingFromEmptyConfig()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load([]));
        Assert.Equal("<config>", e.Location.File);
    }

    private const string SecondLocal = "apiVersion: dataplane.io/v1alpha1\nkind: DataplaneNode\nmetadata:\n  name: {0}\n";

    [Fact]
    public void MoreThanOneDataplaneNode() =>
        AssertFails(string.Format(SecondLocal, "node-b"), 4,
            "more than one DataplaneNode; exactly one is allowed (first is node-a at 10-local.yaml:1:1)");

    [Fact]
    public void DuplicateDataplaneNode() =>
        AssertFails(string.Format(SecondLocal, "node-a"), 4, "duplicate DataplaneNode node-a (first defined at 10-local.yaml:1:1)");

    [Fact]
    public void DataplaneNodeNamingAMissingNode() =>
        AssertFails(string.Format(SecondLocal, "node-z"), 4, "DataplaneNode node-z names a Node that does not exist", withLocal: false);
}
