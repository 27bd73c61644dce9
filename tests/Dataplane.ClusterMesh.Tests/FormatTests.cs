using System.Net;
using System.Text.Json;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Model;
using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>Key layout and JSON checked against facts and examples from Cilium's source and documentation.</summary>
public class FormatTests
{
    [Fact]
    public void KeyLayoutIsCiliums()
    {
        // Documentation/kvstore.rst and pkg/kvstore/allocator (id/, value/<key>/<suffix>, locks/ under the base path).
        Assert.Equal("cilium/state/identities/v1/id/65536", CiliumKeys.IdentityId(65536));
        Assert.Equal("cilium/state/identities/v1/value/k8s:app=web;/198.18.0.1", CiliumKeys.IdentityValue("k8s:app=web;", "198.18.0.1"));
        Assert.Equal("cilium/state/identities/v1/locks/k8s:app=web;", CiliumKeys.IdentityLock("k8s:app=web;"));
        Assert.Equal("cilium/state/nodes/v1/cluster1/node-a", CiliumKeys.Node("cluster1", "node-a"));
        Assert.Equal("cilium/state/ip/v1/default/198.18.100.10", CiliumKeys.Ip("198.18.100.10"));
        Assert.Equal("cilium/state/services/v1/cluster1/shop/web", CiliumKeys.Service("cluster1", "shop", "web"));
        Assert.Equal("cilium/cluster-config/cluster1", CiliumKeys.ClusterConfigOf("cluster1"));
    }

    [Theory]
    // pkg/identity/numericidentity.go: GetMinimalAllocationIdentity / GetMaximumAllocationIdentity with a 16-bit shift.
    [InlineData(0u, 256u, 65535u)]
    [InlineData(1u, 65536u, 131071u)]
    [InlineData(2u, 131072u, 196607u)]
    [InlineData(255u, 16711680u, 16777215u)]
    public void IdentityRangesAreScopedByClusterId(uint cluster, uint min, uint max)
    {
        Assert.Equal(min, IdentityRange.Min(cluster));
        Assert.Equal(max, IdentityRange.Max(cluster));
        Assert.Equal(cluster, IdentityRange.ClusterOf(min));
        Assert.Equal(cluster, IdentityRange.ClusterOf(max));
        Assert.False(IdentityRange.Contains(cluster, max + 1));
    }

    [Fact]
    public void NodeExampleFromCiliumsKvstoreDocumentationDecodes()
    {
        // Verbatim value from Documentation/kvstore.rst ("cilium kvstore get --recursive cilium/state/nodes/").
        const string json = """{"Name":"runtime1","IPAddresses":[{"AddressType":"InternalIP","IP":"10.0.2.15"}],"IPv4AllocCIDR":{"IP":"10.11.0.0","Mask":"//8AAA=="},"IPv6AllocCIDR":{"IP":"f00d::a0f:0:0:0","Mask":"//////////////////8AAA=="},"IPv4HealthIP":"","IPv6HealthIP":""}""";
        var node = NodeRecord.Parse(json)!;
        Assert.Equal("runtime1", node.Name);
        Assert.Equal([IPAddress.Parse("10.0.2.15")], node.InternalIps());
        Assert.Equal([IPNetwork.Parse("10.11.0.0/16"), IPNetwork.Parse("f00d::a0f:0:0:0/112")], node.PodCidrs());
    }

    [Fact]
    public void NodeJsonUsesCiliumsFieldNamesAndGoEncodings()
    {
        var node = new NodeRecord
        {
            Name = "node-a", Cluster = "cluster1", ClusterId = 1,
            IpAddresses = [new NodeAddress { Type = "InternalIP", Ip = "198.18.0.1" }],
            Ipv4AllocCidr = NodeRecord.Cidr(IPNetwork.Parse("198.18.100.0/24")),
        };
        using var doc = JsonDocument.Parse(node.ToJson());
        var r = doc.RootElement;
        Assert.Equal("node-a", r.GetProperty("Name").GetString());
        Assert.Equal("cluster1", r.GetProperty("Cluster").GetString());
        Assert.Equal("InternalIP", r.GetProperty("IPAddresses")[0].GetProperty("Type").GetString());
        // Go's net.IPMask is a byte slice: base64. /24 = ff ff ff 00.
        Assert.Equal("////AA==", r.GetProperty("IPv4AllocCIDR").GetProperty("Mask").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("IPv6AllocCIDR").ValueKind);
        Assert.Equal(1u, r.GetProperty("ClusterID").GetUInt32());
        Assert.False(r.GetProperty("IPAddresses")[0].TryGetProperty("AddressType", out _));
    }

    [Fact]
    public void IpcacheEntryMatchesCiliumsIpIdentityPair()
    {
        // pkg/identity IPIdentityPair: json tags IP, Mask, HostIP, ID, Key, Metadata, K8sNamespace/K8sPodName/NamedPorts omitempty;
        // an endpoint entry has a nil Mask (null) and the key is the bare IP.
        var e = IpIdentityPair.ForEndpoint(IPAddress.Parse("198.18.100.10"), IPAddress.Parse("198.18.0.1"), 65791, "node-a", 432, "shop", "web-1");
        Assert.Equal("""{"IP":"198.18.100.10","Mask":null,"HostIP":"198.18.0.1","ID":65791,"Key":0,"Metadata":"cilium-global:shop:node-a:432","K8sNamespace":"shop","K8sPodName":"web-1"}""", e.ToJson());
        Assert.Equal("198.18.100.10", e.KeyName);
        var bare = new IpIdentityPair { Ip = "fd00:a::10", HostIp = "2001:db8::1", Id = 70000 };
        Assert.Equal("""{"IP":"fd00:a::10","Mask":null,"HostIP":"2001:db8::1","ID":70000,"Key":0,"Metadata":""}""", bare.ToJson());
        // A prefix entry: Mask present, key IP/len (PrefixString).
        var prefix = new IpIdentityPair { Ip = "198.18.64.0", Mask = GoNet.MaskOf(18, System.Net.Sockets.AddressFamily.InterNetwork), Id = 16777217 };
        Assert.Equal("198.18.64.0/18", prefix.KeyName);
        Assert.Equal(IPNetwork.Parse("198.18.64.0/18"), prefix.Prefix());
        Assert.Null(IpIdentityPair.Parse("{not json"));
        Assert.Null(new IpIdentityPair { Ip = "not-an-ip" }.Prefix());
    }

    [Fact]
    public void ClusterServiceJsonHasCiliumsLowercaseFieldsAndL4addr()
    {
        var s = new ClusterService
        {
            Cluster = "cluster2", Namespace = "shop", Name = "web", ClusterId = 2, IncludeExternal = true, Shared = true,
            Frontends = new() { ["198.18.200.1"] = new() { ["http"] = new L4Addr("TCP", 80) } },
            Backends = new() { ["198.18.102.5"] = new() { ["http"] = new L4Addr("TCP", 8080) } },
        };
        Assert.Equal("""{"cluster":"cluster2","namespace":"shop","name":"web","frontends":{"198.18.200.1":{"http":{"Protocol":"TCP","Port":80}}},"backends":{"198.18.102.5":{"http":{"Protocol":"TCP","Port":8080}}},"labels":{},"selector":{},"includeExternal":true,"shared":true,"clusterID":2}""", s.ToJson());
        Assert.Equal("cluster2/shop/web", s.KeyName);   // ClusterService.GetKeyName
        var back = ClusterService.Parse(s.ToJson())!;
        Assert.Equal(8080, back.Backends["198.18.102.5"]["http"].Port);
        // pkg/clustermesh/store validate(): cluster, namespace and name must be set; addresses must be IPs without a zone.
        Assert.Null(ClusterService.Parse("""{"cluster":"","namespace":"a","name":"b"}"""));
        Assert.Null(ClusterService.Parse("""{"cluster":"c","namespace":"a","name":"b","backends":{"invalid":{}}}"""));
        Assert.Null(ClusterService.Parse("""{"cluster":"c","namespace":"a","name":"b","backends":{"dcba::1%zone":{}}}"""));
        Assert.NotNull(ClusterService.Parse("""{"cluster":"c","namespace":"a","name":"b","backends":null}"""));
    }

    [Fact]
    public void LabelKeysRoundTripThroughEtcdsValueFormat()
    {
        var labels = new LabelSet([new Label("k8s", "app", "web"), new Label("k8s", "io.kubernetes.pod.namespace", "shop"),
            new Label("k8s", "io.cilium.k8s.policy.cluster", "cluster2")]);
        Assert.Equal("k8s:app=web;k8s:io.cilium.k8s.policy.cluster=cluster2;k8s:io.kubernetes.pod.namespace=shop;", labels.Key);
        Assert.True(LabelKeys.TryParse(labels.Key, out var back));
        Assert.Equal(labels, back);
        Assert.False(LabelKeys.TryParse("k8s:app=web", out _));      // no trailing ';'
        Assert.False(LabelKeys.TryParse("app=web;", out _));         // no source
        var inCluster = LabelKeys.InCluster(new LabelSet([new Label("k8s", "io.cilium.k8s.policy.cluster", "default"), new Label("k8s", "app", "x")]), "cluster7");
        Assert.True(inCluster.TryGet("k8s", "io.cilium.k8s.policy.cluster", out var c));
        Assert.Equal("cluster7", c);
    }
}
