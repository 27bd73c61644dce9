using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>
/// External workloads (VMs, subnets behind a dataplane-gateway) in Cluster Mesh: every host of the cluster numbers a
/// workload through the kvstore, so the gateway and the nodes agree on it (it travels in the VNI); only the gateway
/// serving it publishes its ipcache entries (a /32 and a subnet, with the gateway as tunnel endpoint), in Cilium's
/// key layout, so another cluster sees its identity labels and addresses.
/// </summary>
public class ExternalWorkloadPublishTests
{
    private static string Cluster(string local, string address) => $$$"""
        apiVersion: v1
        kind: Node
        metadata: {name: gw-a}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["198.18.100.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.2}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: {{{local}}}}
        spec:
          interfaces: [{name: eth0, mac: "02:00:00:00:0a:01", addresses: ["{{{address}}}/24"]}]
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: ExternalWorkload
        metadata: {name: billing-vm, namespace: shop, labels: {app: billing}}
        spec: {addresses: ["198.18.131.10"], gateway: gw-a}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: ExternalWorkload
        metadata: {name: branch-office, namespace: shop, labels: {site: branch}}
        spec: {addresses: ["198.18.132.0/24"], gateway: gw-a}
        """;

    [SkippableFact]
    public async Task TheGatewayPublishesItsWorkloadsAndEveryHostNumbersThemAlike()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var gw = new LocalNode(etcd.Connect(), "cluster1", 1, "gw-a", "198.18.0.1", TimeSpan.FromSeconds(10), ownsConnection: true);
        await using var node = new LocalNode(etcd.Connect(), "cluster1", 1, "node-a", "198.18.0.2", TimeSpan.FromSeconds(10), ownsConnection: true);
        await gw.StartAsync(Eventually.Timeout());
        await node.StartAsync(Eventually.Timeout());
        var gwSync = new ModelSync(gw);
        var nodeSync = new ModelSync(node);
        var gwModel = ConfigLoader.Load([("c.yaml", Cluster("gw-a", "198.18.0.1"))]);
        var nodeModel = ConfigLoader.Load([("c.yaml", Cluster("node-a", "198.18.0.2"))]);
        await gwSync.SyncAsync(gwModel, Eventually.Timeout());
        await nodeSync.SyncAsync(nodeModel, Eventually.Timeout());
        await gw.FlushAsync(Eventually.Timeout());
        await node.FlushAsync(Eventually.Timeout());

        uint vm = gwSync.WorkloadIds[gwModel.ExternalWorkloads.Single(w => w.Name == "billing-vm")];
        uint branch = gwSync.WorkloadIds[gwModel.ExternalWorkloads.Single(w => w.Name == "branch-office")];
        Assert.NotEqual(vm, branch);
        Assert.InRange(vm, 1u << 16, (2u << 16) - 1);   // cluster 1's range
        Assert.Equal(vm, nodeSync.WorkloadIds[nodeModel.ExternalWorkloads.Single(w => w.Name == "billing-vm")]);
        Assert.Equal(branch, nodeSync.WorkloadIds[nodeModel.ExternalWorkloads.Single(w => w.Name == "branch-office")]);

        // Another cluster's view: the workloads' addresses with the gateway as tunnel endpoint, and their labels.
        await using var view = new ClusterMeshView([new RemoteClusterConfig("cluster1", 1, [etcd.Endpoint])], EtcdProcess.Fast);
        await view.StartAsync(Eventually.Timeout());
        await Eventually.True(() => view.Endpoints().Count == 2, "the gateway's two ipcache entries are seen");
        var eps = view.Endpoints();
        Assert.Equal(vm, eps[(1, IPNetwork.Parse("198.18.131.10/32"))].Identity);
        Assert.Equal(branch, eps[(1, IPNetwork.Parse("198.18.132.0/24"))].Identity);
        Assert.Equal(IPAddress.Parse("198.18.0.1"), eps[(1, IPNetwork.Parse("198.18.132.0/24"))].HostIp);
        var labels = view.Remotes[0].Identities()[vm];
        Assert.True(labels.TryGet("k8s", "app", out var app) && app == "billing", labels.Key);
        Assert.True(labels.TryGet("k8s", IdentityLabels.ClusterLabel, out var cluster) && cluster == "cluster1", labels.Key);
        Assert.True(labels.TryGet("k8s", IdentityLabels.NamespaceLabel, out var ns) && ns == "shop", labels.Key);

        // The workload leaves the gateway's config: its entries are withdrawn.
        var without = ConfigLoader.Load([("c.yaml", Cluster("gw-a", "198.18.0.1").Replace("spec: {addresses: [\"198.18.132.0/24\"], gateway: gw-a}", "spec: {addresses: [\"198.18.132.0/24\"]}"))]);
        await gwSync.SyncAsync(without, Eventually.Timeout());
        await gw.FlushAsync(Eventually.Timeout());
        await Eventually.True(() => view.Endpoints().Count == 1 && !view.Endpoints().ContainsKey((1, IPNetwork.Parse("198.18.132.0/24"))),
            "the subnet's entry is withdrawn once no gateway serves it");
    }
}
