using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Remote;
using Dataplane.ClusterMesh.Tests.Support;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>A node's YAML configuration published into its cluster's etcd and seen from another cluster.</summary>
public class ModelSyncTests
{
    private const string Node = """
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          interfaces: [{name: eth0, mac: "02:00:00:00:0a:01", addresses: ["198.18.0.1/24", "2001:db8::1/64"]}]
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["198.18.100.0/24", "fd00:a::/64"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}, {type: InternalIP, address: "2001:db8::1"}]}
        """;

    private static string Pod(string name, string app, string ip, string ip6) => "\n" + $$"""
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: {{name}}
          namespace: shop
          labels: {app: {{app}}, pod-template-hash: "{{name}}" }
        spec: {nodeName: node-a}
        status:
          podIPs:
            - ip: {{ip}}
            - ip: "{{ip6}}"
        """;

    [SkippableFact]
    public async Task SyncPublishesTheNodesPodsAndFollowsConfigChangesExactly()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var node = new LocalNode(etcd.Connect(), "cluster1", 1, "node-a", "198.18.0.1", TimeSpan.FromSeconds(10), ownsConnection: true);
        await node.StartAsync(Eventually.Timeout());
        var sync = new ModelSync(node);
        var v1 = ConfigLoader.Load([("c.yaml", Node + Pod("web-0", "web", "198.18.100.10", "fd00:a::10")
            + Pod("web-1", "web", "198.18.100.11", "fd00:a::11") + Pod("db-0", "db", "198.18.100.20", "fd00:a::20"))]);
        var ids = await sync.SyncAsync(v1, Eventually.Timeout());
        await node.FlushAsync(Eventually.Timeout());
        uint web = ids[v1.Pods.Single(p => p.Name == "web-0")];
        Assert.Equal(web, ids[v1.Pods.Single(p => p.Name == "web-1")]);   // per-instance labels are not identity labels
        uint db = ids[v1.Pods.Single(p => p.Name == "db-0")];

        // cluster2's view of cluster1.
        await using var view = new ClusterMeshView([new RemoteClusterConfig("cluster1", 1, [etcd.Endpoint])], EtcdProcess.Fast);
        await view.StartAsync(Eventually.Timeout());
        var tunnel = Assert.Single(view.TunnelEndpoints());
        Assert.Equal([IPAddress.Parse("198.18.0.1"), IPAddress.Parse("2001:db8::1")], tunnel.Addresses);
        Assert.Equal([IPNetwork.Parse("198.18.100.0/24"), IPNetwork.Parse("fd00:a::/64")], tunnel.PodCidrs);
        var eps = view.Endpoints();
        Assert.Equal(6, eps.Count);
        Assert.Equal(db, eps[(1, IPNetwork.Parse("fd00:a::20/128"))].Identity);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), eps[(1, IPNetwork.Parse("fd00:a::20/128"))].HostIp);
        var dbLabels = view.Remotes[0].Identities()[db];
        Assert.True(dbLabels.TryGet("k8s", IdentityLabels.ClusterLabel, out var cluster));
        Assert.Equal("cluster1", cluster);
        Assert.True(dbLabels.TryGet("k8s", IdentityLabels.NamespaceLabel, out var ns));
        Assert.Equal("shop", ns);

        // web-1 goes away and db's labels change: exactly that shows up remotely, and the old db identity is released.
        var v2 = ConfigLoader.Load([("c.yaml", Node + Pod("web-0", "web", "198.18.100.10", "fd00:a::10")
            + Pod("db-0", "db2", "198.18.100.20", "fd00:a::20"))]);
        ids = await sync.SyncAsync(v2, Eventually.Timeout());
        await node.FlushAsync(Eventually.Timeout());
        uint db2 = ids[v2.Pods.Single(p => p.Name == "db-0")];
        Assert.NotEqual(db, db2);
        await Eventually.True(() => view.Endpoints().Count == 4 && view.Endpoints()[(1, IPNetwork.Parse("198.18.100.20/32"))].Identity == db2,
            "remote view follows the new config");
        Assert.DoesNotContain((1u, IPNetwork.Parse("198.18.100.11/32")), view.Endpoints().Keys);
        using var c = etcd.Connect();
        var (values, _, _) = await c.ListAsync(CiliumKeys.IdentityValues, Eventually.Timeout());
        Assert.Equal(2, values.Count);   // web and db2; db's value key released
        Assert.Equal(1, await node.Identities.CollectGarbageAsync(Eventually.Timeout()));
    }
}
