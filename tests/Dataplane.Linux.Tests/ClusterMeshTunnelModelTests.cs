using System.Net;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Overlay;
using Dataplane.Host.Mesh;

namespace Dataplane.Linux.Tests;

/// <summary>
/// How a node tells other clusters to tunnel to it (no root, no etcd): what it publishes in its Node record's
/// Annotations, and how a remote node's annotations become an SRv6 or a VXLAN peer.
/// </summary>
public class ClusterMeshTunnelModelTests
{
    private static ConfigModel Node(string overlay) => ConfigLoader.Load([("node.yaml", $$"""
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["198.18.110.0/24"]}
        status: {addresses: [{type: InternalIP, address: "2001:db8:18::1"}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          interfaces: [{name: eth0, mac: "02:00:00:00:00:01", addresses: ["2001:db8:18::1/64"]}]
        {{overlay}}
        """)]);

    private const string Srv6Overlay = """
          overlay:
            mode: srv6
            locators: ["2001:db8:a1::/48"]
            sids: [{sid: "2001:db8:a1::4", behavior: End.DT4}, {sid: "2001:db8:a1::6", behavior: End.DT6}]
        """;

    [Fact]
    public void ANodeInSrv6ModePublishesItsDecapsulationSidsAndOthersNothing()
    {
        var a = NodeTunnelAnnotations.Of(Node(Srv6Overlay))!;
        Assert.Equal("srv6", a[NodeTunnelAnnotations.Tunnel]);
        Assert.Equal("2001:db8:a1::4", a[NodeTunnelAnnotations.Sid4]);
        Assert.Equal("2001:db8:a1::6", a[NodeTunnelAnnotations.Sid6]);
        // VXLAN (the default) publishes nothing; the JSON then has no Annotations at all, as before.
        Assert.Null(NodeTunnelAnnotations.Of(Node("")));
        Assert.DoesNotContain("Annotations", new NodeRecord { Name = "node-a" }.ToJson());
        var json = new NodeRecord { Name = "node-a", Annotations = a }.ToJson();
        Assert.Equal(a, NodeRecord.Parse(json)!.Annotations);
    }

    [Fact]
    public void ARemoteSrv6NodeIsReachedBySrv6WithItsSidsRoutedViaItsInternalIp()
    {
        var srv6 = new Dictionary<string, string> { ["dataplane.io/tunnel"] = "srv6", ["dataplane.io/srv6-sid4"] = "2001:db8:b1::46" };
        var nodes = new List<TunnelEndpoint>
        {
            new("c2", 2, "node-b", [IPAddress.Parse("2001:db8:18::2")], [IPNetwork.Parse("198.18.120.0/24")], srv6),
            // No IPv6 InternalIP to reach its SID by, a malformed SID, no annotations: VXLAN.
            new("c2", 2, "node-c", [IPAddress.Parse("198.18.0.3")], [IPNetwork.Parse("198.18.121.0/24")], srv6),
            new("c2", 2, "node-d", [IPAddress.Parse("2001:db8:18::4")], [IPNetwork.Parse("198.18.122.0/24")],
                new Dictionary<string, string> { ["dataplane.io/tunnel"] = "srv6", ["dataplane.io/srv6-sid4"] = "198.18.0.9" }),
            new("c2", 2, "node-e", [IPAddress.Parse("2001:db8:18::5")], [IPNetwork.Parse("198.18.123.0/24")]),
        };
        var state = new MeshState(1, nodes, new ExternalIdentities([], []), []);
        var m = MeshModel.Augment(Node(Srv6Overlay), state, "c1", 1);

        var b = Assert.Single(m.Nodes, n => n.Name == "node-b").Tunnel!;
        Assert.Equal(TunnelMode.Srv6, b.Mode);
        Assert.Equal("2001:db8:b1::46", b.Sid4!.ToString());
        var route = Assert.Single(m.Local.Routes);
        Assert.Equal("2001:db8:b1::46/128", route.Destination.ToString());
        Assert.Equal("2001:db8:18::2", route.Via!.ToString());
        foreach (var name in new[] { "node-c", "node-d", "node-e" })
            Assert.Equal(TunnelMode.Vxlan, Assert.Single(m.Nodes, n => n.Name == name).Tunnel!.Mode);

        // With overlapping pod CIDRs the identity must travel in the VNI: VXLAN even to an SRv6 node, no SID route.
        var o = MeshModel.Augment(Node(Srv6Overlay), state, "c1", 1, overlapping: true);
        Assert.Equal(TunnelMode.Vxlan, Assert.Single(o.Nodes, n => n.Name == "node-b").Tunnel!.Mode);
        Assert.Empty(o.Local.Routes);
    }
}
