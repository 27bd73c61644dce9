using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Tests.Support;
using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>Two nodes of one cluster (two clients of one etcd) agree on identity numbers.</summary>
public class IdentityAllocationTests
{
    private static LabelSet Labels(string app, string cluster = "cluster3") => LabelKeys.InCluster(new LabelSet([
        new Label("k8s", "app", app), new Label("k8s", "io.kubernetes.pod.namespace", "shop"),
        new Label("k8s", "io.cilium.k8s.policy.serviceaccount", "default")]), cluster);

    [SkippableFact]
    public async Task TwoNodesGetTheSameNumberForTheSameLabelsFromTheClusterRange()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var a = new LocalNode(etcd.Connect(), "cluster3", 3, "node-a", "198.18.0.1", TimeSpan.FromSeconds(10), ownsConnection: true);
        await using var b = new LocalNode(etcd.Connect(), "cluster3", 3, "node-b", "198.18.0.2", TimeSpan.FromSeconds(10), ownsConnection: true);
        await a.StartAsync(Eventually.Timeout());
        await b.StartAsync(Eventually.Timeout());

        uint web = await a.Identities.AllocateAsync(Labels("web"), Eventually.Timeout());
        Assert.InRange(web, 3u << 16, (4u << 16) - 1);
        Assert.Equal(web, await b.Identities.AllocateAsync(Labels("web"), Eventually.Timeout()));
        uint db = await b.Identities.AllocateAsync(Labels("db"), Eventually.Timeout());
        Assert.NotEqual(web, db);
        Assert.Equal(db, await a.Identities.AllocateAsync(Labels("db"), Eventually.Timeout()));

        // What is in etcd, in Cilium's layout: one master key, one value key per node using it.
        using var c = etcd.Connect();
        var master = await c.GetAsync(CiliumKeys.IdentityId(web), Eventually.Timeout());
        Assert.Equal(Labels("web").Key, master!.Value.ToStringUtf8());
        var (values, _, _) = await c.ListAsync(CiliumKeys.IdentityValuePrefix(Labels("web").Key), Eventually.Timeout());
        Assert.Equal([CiliumKeys.IdentityValue(Labels("web").Key, "198.18.0.1"), CiliumKeys.IdentityValue(Labels("web").Key, "198.18.0.2")],
            values.Select(v => v.Key.ToStringUtf8()).Order(StringComparer.Ordinal));
        Assert.All(values, v => Assert.Equal(web.ToString(System.Globalization.CultureInfo.InvariantCulture), v.Value.ToStringUtf8()));
        Assert.All(values, v => Assert.NotEqual(0, v.Lease));   // bound to the node's lease
        Assert.Equal(0, master.Lease);

        // Releasing the last reference removes only this node's value key; the number stays for the other node.
        await a.Identities.ReleaseAsync(Labels("web"), Eventually.Timeout());
        (values, _, _) = await c.ListAsync(CiliumKeys.IdentityValuePrefix(Labels("web").Key), Eventually.Timeout());
        Assert.Single(values);
        Assert.Equal(web, await a.Identities.AllocateAsync(Labels("web"), Eventually.Timeout()));
        await Eventually.True(() => a.Identities.Known().ContainsKey(db) && b.Identities.Known()[web] == Labels("web").Key, "both nodes' watch caches know every identity");
    }

    [SkippableFact]
    public async Task ConcurrentAllocationOfTheSameLabelsOnTwoNodesAgrees()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var a = new LocalNode(etcd.Connect(), "cluster3", 3, "node-a", "198.18.0.1", TimeSpan.FromSeconds(10), ownsConnection: true);
        await using var b = new LocalNode(etcd.Connect(), "cluster3", 3, "node-b", "198.18.0.2", TimeSpan.FromSeconds(10), ownsConnection: true);
        await a.StartAsync(Eventually.Timeout());
        await b.StartAsync(Eventually.Timeout());

        var sets = Enumerable.Range(0, 24).Select(i => Labels("app" + i)).ToList();
        // Both nodes race for every label set at once.
        var ta = sets.Select(s => a.Identities.AllocateAsync(s, Eventually.Timeout(120))).ToList();
        var tb = sets.Select(s => b.Identities.AllocateAsync(s, Eventually.Timeout(120))).ToList();
        var ida = await Task.WhenAll(ta);
        var idb = await Task.WhenAll(tb);
        Assert.Equal(ida, idb);
        Assert.Equal(sets.Count, ida.Distinct().Count());
        Assert.All(ida, id => Assert.True(IdentityRange.Contains(3, id)));
        using var c = etcd.Connect();
        var (masters, _, _) = await c.ListAsync(CiliumKeys.IdentityIds, Eventually.Timeout());
        Assert.Equal(sets.Count, masters.Count);   // no label set got two numbers
    }
}
