using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Remote;
using Dataplane.ClusterMesh.Tests.Support;
using Dataplane.Core.Identity;
using Etcdserverpb;
using Xunit.Abstractions;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>
/// Cluster c2's kvstore is a 3-member etcd. Its node publishes pods and allocates identities while this node
/// watches c2; members are killed one after the other (the leader first). With a majority the mesh goes on
/// updating; without one, publications queue, new allocations fail clearly and the watcher keeps its cache; when a
/// member returns, everything queued arrives — each key exactly once, one identity per label set, one lease.
/// </summary>
public sealed class ReplicatedEtcdTests(ITestOutputHelper output)
{
    private static LabelSet App(string app) =>
        LabelKeys.InCluster(new LabelSet([new Label("k8s", "app", app), new Label("k8s", "io.kubernetes.pod.namespace", "shop")]), "c2");

    [SkippableFact]
    public async Task LosingTheLeaderThenQuorumKeepsTheCacheAndLosesOrDuplicatesNothing()
    {
        await using var etcd = await EtcdCluster.StartAsync(3);
        await using var c2 = new LocalNode(etcd.Connect(), "c2", 2, "node-c2", "198.18.2.1", TimeSpan.FromSeconds(30), ownsConnection: true);
        await c2.StartAsync(Eventually.Timeout());
        await using var view = new ClusterMeshView([new RemoteClusterConfig("c2", 2, etcd.Endpoints)], EtcdProcess.Fast);
        var remote = view.Remotes[0];

        // Every ipcache change the watcher delivers, in order.
        var events = new List<(string Key, bool Delete)>();
        remote.Watchers.ElementAt(1).Changed += changes => { lock (events) events.AddRange(changes.Select(c => (c.Key, c.IsDelete))); };
        await view.StartAsync(Eventually.Timeout());

        var ids = new Dictionary<string, uint>();
        async Task Publish(int from, int to, params string[] apps)
        {
            for (int n = from; n <= to; n++)
            {
                var app = apps[n % apps.Length];
                var id = await c2.Identities.AllocateAsync(App(app), Eventually.Timeout());
                Assert.Equal(ids.TryGetValue(app, out var had) ? had : id, id);
                ids[app] = id;
                c2.PublishEndpoint(IpIdentityPair.ForEndpoint(IPAddress.Parse($"198.18.20.{n}"), IPAddress.Parse("198.18.2.1"), id, "node-c2", n, "shop", $"{app}-{n}"));
            }
        }

        await Publish(1, 4, "web", "db");
        await c2.FlushAsync(Eventually.Timeout());
        await Eventually.True(() => remote.EndpointCount == 4, "4 pods seen");

        // 1. The leader dies: a majority is left; publishing and allocating (a new label set) go on.
        var leader = await etcd.LeaderAsync();
        output.WriteLine($"killing leader {leader.Name}");
        await leader.StopAsync();
        await Publish(5, 8, "web", "db", "cache");
        await c2.FlushAsync(Eventually.Timeout());
        await Eventually.True(() => remote.EndpointCount == 8 && remote.Connected, "8 pods seen with two members");

        // 2. Another member dies: no quorum. Publications queue, a new allocation fails, the cache stays.
        var second = etcd.Members.First(m => m.Running);
        output.WriteLine($"killing {second.Name}: no quorum");
        await second.StopAsync();
        await Publish(9, 12, "web", "db", "cache");   // held label sets: no etcd round trip needed
        var refused = await Assert.ThrowsAsync<KvStoreUnavailableException>(() => c2.Identities.AllocateAsync(App("new"), Eventually.Timeout()));
        output.WriteLine($"allocation without quorum: {refused.Message}");
        await Eventually.True(() => !remote.Connected, "the watcher notices the lost leader (hasleader)");
        Assert.True(c2.Publisher.Pending > 0, "publications queued while there is no quorum");
        await Task.Delay(1000);
        Assert.Equal(8, remote.EndpointCount);   // forwarding goes on with these

        // 3. A member returns: quorum again; the queue drains, the watcher resumes, allocation works again.
        output.WriteLine($"restarting {leader.Name}");
        await leader.StartAgainAsync();
        await c2.FlushAsync(Eventually.Timeout(90));
        await Eventually.True(() => remote.EndpointCount == 12 && remote.Connected, "12 pods seen after quorum returned", seconds: 60);
        ids["new"] = await c2.Identities.AllocateAsync(App("new"), Eventually.Timeout());

        // Nothing lost or duplicated.
        List<(string Key, bool Delete)> seen;
        lock (events) seen = [.. events];
        Assert.DoesNotContain(seen, e => e.Delete);
        var perKey = seen.GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(12, perKey.Count);
        Assert.All(perKey, kv => Assert.Equal(1, kv.Value));
        Assert.Equal(0, remote.Watchers.Sum(w => w.Resyncs));   // resumed from revisions every time, never relisted

        using var check = etcd.Connect();
        var masters = (await check.ListAsync(CiliumKeys.IdentityIds, Eventually.Timeout())).Kvs;
        Assert.Equal(4, masters.Count);   // web, db, cache, new: one identity each
        Assert.Equal(ids.Values.Order(), masters.Select(kv => uint.Parse(kv.Key.ToStringUtf8()[CiliumKeys.IdentityIds.Length..])).Order());
        await Eventually.True(() => remote.Identities().Count == 4, "the new identity seen");
        var leases = await check.RunAsync((c, o) => c.Lease.LeaseLeasesAsync(new LeaseLeasesRequest(), o).ResponseAsync, Eventually.Timeout());
        Assert.Equal([c2.Lease.LeaseId], leases.Leases.Select(l => l.ID));   // the same one lease throughout
        Assert.Equal(0, c2.Lease.Renewals);
        Assert.Equal(12, (await check.ListAsync(CiliumKeys.IpCache, Eventually.Timeout())).Kvs.Count(kv => kv.Lease == c2.Lease.LeaseId));
    }
}
