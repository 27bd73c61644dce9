using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Tests.Support;
using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>Two clusters, each a node agent started from its own ClusterMeshConfig file, meshed both ways.</summary>
public class AgentTests
{
    private static string Yaml(string name, uint id, string etcd, string remote, uint remoteId, string remoteEtcd) => $$"""
        apiVersion: dataplane.io/v1alpha1
        kind: ClusterMeshConfig
        metadata: {name: mesh}
        spec:
          cluster: {name: {{name}}, id: {{id}}}
          etcd: {endpoints: ["{{etcd}}"], leaseTTLSeconds: 10}
          remoteClusters:
            - {name: {{remote}}, id: {{remoteId}}, endpoints: ["{{remoteEtcd}}"]}
        """;

    [SkippableFact]
    public async Task TwoAgentsFromConfigFilesSeeEachOthersPodsWithClusterLabels()
    {
        await using var etcd1 = await EtcdProcess.StartAsync();
        await using var etcd2 = await EtcdProcess.StartAsync();
        var dir = Directory.CreateTempSubdirectory("dp-mesh-cfg-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "mesh1.yaml"), Yaml("cluster1", 1, etcd1.Endpoint, "cluster2", 2, etcd2.Endpoint));
            File.WriteAllText(Path.Combine(dir.FullName, "mesh2.yaml"), Yaml("cluster2", 2, etcd2.Endpoint, "cluster1", 1, etcd1.Endpoint));
            await using var a1 = new ClusterMeshAgent(ClusterMeshConfigLoader.LoadFile(Path.Combine(dir.FullName, "mesh1.yaml")), "node-1", IPAddress.Parse("198.18.0.1"), EtcdProcess.Fast);
            await using var a2 = new ClusterMeshAgent(ClusterMeshConfigLoader.LoadFile(Path.Combine(dir.FullName, "mesh2.yaml")), "node-2", IPAddress.Parse("198.18.0.2"), EtcdProcess.Fast);
            await a1.StartAsync(Eventually.Timeout());
            await a2.StartAsync(Eventually.Timeout());

            var pod = new LabelSet([new Label("k8s", "app", "api"), new Label("k8s", "io.kubernetes.pod.namespace", "shop")]);
            uint id1 = await a1.Local.Identities.AllocateAsync(LabelKeys.InCluster(pod, "cluster1"), Eventually.Timeout());
            uint id2 = await a2.Local.Identities.AllocateAsync(LabelKeys.InCluster(pod, "cluster2"), Eventually.Timeout());
            Assert.True(IdentityRange.Contains(1, id1));
            Assert.True(IdentityRange.Contains(2, id2));
            a1.Local.PublishEndpoint(IpIdentityPair.ForEndpoint(IPAddress.Parse("198.18.101.5"), IPAddress.Parse("198.18.0.1"), id1, "node-1", 1, "shop", "api-0"));
            a2.Local.PublishEndpoint(IpIdentityPair.ForEndpoint(IPAddress.Parse("198.18.102.5"), IPAddress.Parse("198.18.0.2"), id2, "node-2", 1, "shop", "api-0"));

            await Eventually.True(() => a1.View.PolicyInput().IpCache.Any(e => e.Identity == id2)
                                        && a2.View.PolicyInput().IpCache.Any(e => e.Identity == id1), "each side sees the other's pod");
            var seenBy1 = a1.View.PolicyInput().Identities.Single(i => i.Id == id2);
            Assert.True(seenBy1.Labels.TryGet("k8s", IdentityLabels.ClusterLabel, out var c));
            Assert.Equal("cluster2", c);
            Assert.Equal(IPNetwork.Parse("198.18.102.5/32"), a1.View.PolicyInput().IpCache.Single(e => e.Identity == id2).Prefix);
            // Each agent advertised its cluster's ID where remote clusters check it.
            using var conn = etcd1.Connect();
            var cfg = ClusterConfigRecord.Parse((await conn.GetAsync(CiliumKeys.ClusterConfigOf("cluster1"), Eventually.Timeout()))!.Value.ToStringUtf8());
            Assert.Equal(1u, cfg!.Id);
        }
        finally { dir.Delete(recursive: true); }
    }

    [SkippableFact]
    public async Task ARemoteClusterAdvertisingAnotherIdIsRefused()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        using (var c = etcd.Connect())
            await c.PutAsync(CiliumKeys.ClusterConfigOf("cluster2"), """{"id":7,"capabilities":{"maxConnectedClusters":255}}""", 0, Eventually.Timeout());
        await using var remote = new Remote.RemoteCluster(new RemoteClusterConfig("cluster2", 2, [etcd.Endpoint]), EtcdProcess.Fast);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => remote.StartAsync(Eventually.Timeout()));
        Assert.Contains("advertises cluster ID 7, configured as 2", e.Message);
    }
}
