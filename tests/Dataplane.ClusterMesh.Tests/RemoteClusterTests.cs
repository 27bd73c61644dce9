using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Remote;
using Dataplane.ClusterMesh.Services;
using Dataplane.ClusterMesh.Tests.Support;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;
using Dataplane.Core.Policy;
using Dataplane.Control.Compiler;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>
/// Three clusters, each with its own etcd: cluster1 (this node) watches cluster2 and cluster3. Both remote
/// clusters run a "web" pod with the same pod IP (overlapping pod CIDRs).
/// </summary>
public class RemoteClusterTests
{
    private sealed class Cluster : IAsyncDisposable
    {
        public required EtcdProcess Etcd;
        public required LocalNode Node;
        public uint WebId;
        public async ValueTask DisposeAsync() { await Node.DisposeAsync(); await Etcd.DisposeAsync(); }
    }

    /// <summary>A cluster with one node publishing itself, a web pod at 198.18.120.7 and a shared global service.</summary>
    private static async Task<Cluster> StartCluster(string name, uint id, string nodeIp, int backendPort)
    {
        var etcd = await EtcdProcess.StartAsync();
        var node = new LocalNode(etcd.Connect(), name, id, "node-" + name, nodeIp, TimeSpan.FromSeconds(10), ownsConnection: true);
        var c = new Cluster { Etcd = etcd, Node = node };
        try
        {
            await node.StartAsync(Eventually.Timeout());
            node.PublishNode(new NodeRecord
            {
                Name = node.NodeName, IpAddresses = [new NodeAddress { Type = "InternalIP", Ip = nodeIp }],
                Ipv4AllocCidr = NodeRecord.Cidr(IPNetwork.Parse("198.18.120.0/24")),
            });
            var web = LabelKeys.InCluster(new LabelSet([new Label("k8s", "app", "web"), new Label("k8s", "io.kubernetes.pod.namespace", "shop"),
                new Label("k8s", "io.cilium.k8s.policy.serviceaccount", "default")]), name);
            c.WebId = await node.Identities.AllocateAsync(web, Eventually.Timeout());
            node.PublishEndpoint(IpIdentityPair.ForEndpoint(IPAddress.Parse("198.18.120.7"), IPAddress.Parse(nodeIp), c.WebId, node.NodeName, 7, "shop", "web-0"));
            node.PublishService(new ClusterService
            {
                Namespace = "shop", Name = "web", IncludeExternal = true, Shared = true,
                Frontends = new() { ["198.18.200.1"] = new() { ["http"] = new L4Addr("TCP", 80) } },
                Backends = new() { ["198.18.120.7"] = new() { ["http"] = new L4Addr("TCP", (ushort)backendPort) } },
            });
            await node.FlushAsync(Eventually.Timeout());
            return c;
        }
        catch { await c.DisposeAsync(); throw; }
    }

    [SkippableFact]
    public async Task RemoteStateFeedsPolicyTunnelsAndGlobalServicesWithOverlappingPodIpsKeptApart()
    {
        await using var c2 = await StartCluster("cluster2", 2, "198.18.0.2", 8080);
        await using var c3 = await StartCluster("cluster3", 3, "198.18.0.3", 8081);
        var meshYaml = $"""
            apiVersion: dataplane.io/v1alpha1
            kind: ClusterMeshConfig
            metadata: {'{'}name: mesh{'}'}
            spec:
              cluster: {'{'}name: cluster1, id: 1{'}'}
              etcd: {'{'}endpoints: ["http://127.0.0.1:1"]{'}'}
              remoteClusters:
                - {'{'}name: cluster2, id: 2, endpoints: ["{c2.Etcd.Endpoint}"]{'}'}
                - {'{'}name: cluster3, id: 3, endpoints: ["{c3.Etcd.Endpoint}"]{'}'}
            """;
        var config = ClusterMeshConfigLoader.Load("mesh.yaml", meshYaml);
        await using var view = new ClusterMeshView(config, EtcdProcess.Fast);
        await view.StartAsync(Eventually.Timeout());

        // Identities arrive with their cluster's numbers and the cluster label.
        var remote2 = view.Remotes.Single(r => r.Name == "cluster2").Identities();
        Assert.True(remote2[c2.WebId].TryGet("k8s", IdentityLabels.ClusterLabel, out var cl));
        Assert.Equal("cluster2", cl);
        Assert.InRange(c2.WebId, 2u << 16, (3u << 16) - 1);
        Assert.InRange(c3.WebId, 3u << 16, (4u << 16) - 1);

        // Same pod IP in both clusters: two distinct endpoints keyed by (cluster, IP).
        var eps = view.Endpoints();
        var ip = IPNetwork.Parse("198.18.120.7/32");
        Assert.Equal(c2.WebId, eps[(2, ip)].Identity);
        Assert.Equal(c3.WebId, eps[(3, ip)].Identity);
        Assert.Equal(IPAddress.Parse("198.18.0.2"), eps[(2, ip)].HostIp);
        Assert.Equal(IPAddress.Parse("198.18.0.3"), eps[(3, ip)].HostIp);

        // Remote nodes are tunnel endpoints for their pod CIDRs.
        var tunnels = view.TunnelEndpoints().OrderBy(t => t.ClusterId).ToList();
        Assert.Equal(["node-cluster2", "node-cluster3"], tunnels.Select(t => t.Node));
        Assert.Equal([IPAddress.Parse("198.18.0.2")], tunnels[0].Addresses);
        Assert.Equal([IPNetwork.Parse("198.18.120.0/24")], tunnels[0].PodCidrs);

        // Global service: local backends plus both remote clusters', affinity applied.
        var local = new ClusterService
        {
            Cluster = "cluster1", ClusterId = 1, Namespace = "shop", Name = "web", IncludeExternal = true, Shared = true,
            Backends = new() { ["198.18.121.9"] = new() { ["http"] = new L4Addr("TCP", 8079) } },
        };
        var remote = view.ServicesNamed("shop", "web");
        Assert.Equal(2, remote.Count);
        var all = GlobalServiceMerge.Backends(local, ServiceAffinity.None, remote);
        Assert.Equal([(1u, 8079), (2u, 8080), (3u, 8081)], all.Select(b => (b.ClusterId, (int)b.Port)));
        Assert.Equal([1u], GlobalServiceMerge.Backends(local, ServiceAffinity.Local, remote).Select(b => b.ClusterId));
        Assert.Equal([2u, 3u], GlobalServiceMerge.Backends(local, ServiceAffinity.Remote, remote).Select(b => b.ClusterId));

        // Policy: only cluster2's web may reach the local db; compiled by Core's policy compiler.
        var model = ConfigLoader.Load([("cfg.yaml", LocalConfig)]);
        var db = model.Pods.Single(p => p.Name == "db");
        var input = view.PolicyInput();
        var policy = PolicyCompiler.Compile(model, [null, db], input);
        Assert.Equal(PolicyVerdict.Allowed, policy.Ingress[1].Lookup(c2.WebId, 6, 5432, out _));
        Assert.Equal(PolicyVerdict.NoAllow, policy.Ingress[1].Lookup(c3.WebId, 6, 5432, out _));
        Assert.NotNull(policy.Identities.Get(c3.WebId));
        // The overlapping address names no single identity: it stays out of the address-keyed ipcache.
        Assert.DoesNotContain(input.IpCache, e => e.Prefix == ip);

        // cluster3 stops sharing its service: it drops out of the merge.
        c3.Node.PublishService(new ClusterService { Namespace = "shop", Name = "web", IncludeExternal = true, Shared = false });
        await c3.Node.FlushAsync(Eventually.Timeout());
        await Eventually.True(() => view.ServicesNamed("shop", "web").Count == 1, "unshared service withdrawn");
        Assert.Equal([1u, 2u], GlobalServiceMerge.Backends(local, ServiceAffinity.None, view.ServicesNamed("shop", "web")).Select(b => b.ClusterId).Distinct());

        // A remote pod with its own address lands in the ipcache Core compiles, with the remote identity and node.
        c2.Node.PublishEndpoint(IpIdentityPair.ForEndpoint(IPAddress.Parse("198.18.122.4"), IPAddress.Parse("198.18.0.2"), c2.WebId, "node-cluster2", 8, "shop", "web-1"));
        await c2.Node.FlushAsync(Eventually.Timeout());
        await Eventually.True(() => view.Endpoints().ContainsKey((2, IPNetwork.Parse("198.18.122.4/32"))), "new remote endpoint");
        input = view.PolicyInput();
        var entry = Assert.Single(input.IpCache, e => e.Prefix == IPNetwork.Parse("198.18.122.4/32"));
        Assert.Equal(c2.WebId, entry.Identity);
        Assert.Equal(IPAddress.Parse("198.18.0.2"), entry.HostIp);
        policy = PolicyCompiler.Compile(model, [null, db], input);
        Assert.Equal(c2.WebId, policy.IpCache.Lookup(IPAddress.Parse("198.18.122.4")));
    }

    [SkippableFact]
    public async Task EntriesThatDoNotBelongToTheRemoteClusterAreRejected()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        using var c = etcd.Connect();
        var ct = Eventually.Timeout();
        await c.PutAsync(Keys.CiliumKeys.IdentityId(2u << 16), "k8s:app=ok;k8s:io.cilium.k8s.policy.cluster=cluster2;", 0, ct);
        await c.PutAsync(Keys.CiliumKeys.IdentityId(5u << 16), "k8s:app=foreign;", 0, ct);          // cluster 5's range
        await c.PutAsync(Keys.CiliumKeys.IdentityId((2u << 16) + 1), "garbage", 0, ct);
        await c.PutAsync(Keys.CiliumKeys.Ip("198.18.1.1"), "{broken", 0, ct);
        await c.PutAsync(Keys.CiliumKeys.Ip("198.18.1.2"), new IpIdentityPair { Ip = "198.18.1.2", Id = 1 }.ToJson(), 0, ct);
        await c.PutAsync(Keys.CiliumKeys.Ip("198.18.1.3"), new IpIdentityPair { Ip = "198.18.1.3", Id = NumericIdentity.LocalScopeFlag + 1 }.ToJson(), 0, ct);
        await c.PutAsync(Keys.CiliumKeys.Service("cluster2", "shop", "web"), new ClusterService { Cluster = "cluster9", Namespace = "shop", Name = "web", ClusterId = 2 }.ToJson(), 0, ct);
        await using var remote = new RemoteCluster(new RemoteClusterConfig("cluster2", 2, [etcd.Endpoint]), EtcdProcess.Fast);
        await remote.StartAsync(ct);
        Assert.Equal([2u << 16], remote.Identities().Keys);
        var ep = Assert.Single(remote.Endpoints());
        Assert.Equal(NumericIdentity.RemoteNode, ep.Identity);   // a remote cluster's host (1) is remote-node (6) here
        Assert.Empty(remote.Services());
        Assert.Equal(5, remote.Rejected);   // foreign range, bad label key, bad JSON, local-scope CIDR identity, wrong cluster
    }

    private const string LocalConfig = """
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          interfaces:
            - {name: eth0, mac: "02:00:00:00:0a:01", addresses: ["198.18.0.1/24"]}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["198.18.121.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: db, namespace: shop, labels: {app: db}}
        spec: {nodeName: node-a}
        status: {podIPs: [{ip: 198.18.121.20}]}
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: db-from-cluster2, namespace: shop}
        spec:
          endpointSelector: {matchLabels: {app: db}}
          ingress:
            - fromEndpoints:
                - matchLabels: {app: web, io.cilium.k8s.policy.cluster: cluster2}
              toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
        """;
}
