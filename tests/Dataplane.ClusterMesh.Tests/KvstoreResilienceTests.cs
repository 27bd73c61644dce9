using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Tests.Support;
using Dataplane.Core.Identity;

namespace Dataplane.ClusterMesh.Tests;

/// <summary>The watcher cache and the publisher through partitions, compaction, restarts and a replaced etcd.</summary>
public class KvstoreResilienceTests
{
    private const string Prefix = "cilium/state/ip/v1/default/";

    private static async Task Seed(EtcdConnection c, params (string Key, string Value)[] kvs)
    {
        foreach (var (k, v) in kvs)
            for (int attempt = 1; ; attempt++)
            {
                // The first call after an etcd restart may still hit the dead connection.
                try { await c.PutAsync(Prefix + k, v, 0, Eventually.Timeout()); break; }
                catch (KvStoreUnavailableException) when (attempt < 5) { await Task.Delay(200); }
            }
    }

    private static Dictionary<string, string> Expect(params (string Key, string Value)[] kvs) =>
        kvs.ToDictionary(kv => Prefix + kv.Key, kv => kv.Value);

    /// <summary>A watcher that reaches etcd through a relay the test can cut, recording every change it reports.</summary>
    private sealed class PartitionedWatcher : IAsyncDisposable
    {
        public required TcpProxy Proxy;
        public required EtcdConnection Conn;
        public required PrefixWatcher Watcher;
        public List<KvChange> Seen { get; } = [];

        public static async Task<PartitionedWatcher> StartAsync(EtcdProcess etcd)
        {
            var proxy = new TcpProxy(etcd.ClientPort);
            var conn = new EtcdConnection([proxy.Endpoint], EtcdProcess.Fast);
            var pw = new PartitionedWatcher { Proxy = proxy, Conn = conn, Watcher = new PrefixWatcher(conn, Prefix) };
            pw.Watcher.Changed += ch => { lock (pw.Seen) pw.Seen.AddRange(ch); };
            await pw.Watcher.WaitSyncedAsync(Eventually.Timeout());
            await Eventually.True(() => pw.Watcher.Connected, "watch open");
            return pw;
        }

        public async Task CutAsync()
        {
            Proxy.Cut();
            await Eventually.True(() => !Watcher.Connected, "watcher notices the partition");
        }

        public async ValueTask DisposeAsync()
        {
            await Watcher.DisposeAsync();
            Conn.Dispose();
            await Proxy.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task PartitionKeepsTheCacheAndResumingDeliversExactlyWhatChanged()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        using var writer = etcd.Connect();
        await Seed(writer, ("a", "1"), ("b", "1"), ("c", "1"));
        await using var pw = await PartitionedWatcher.StartAsync(etcd);
        var (proxy, watcher, seen) = (pw.Proxy, pw.Watcher, pw.Seen);
        Assert.Equal(Expect(("a", "1"), ("b", "1"), ("c", "1")), watcher.Snapshot());

        await pw.CutAsync();
        // Meanwhile the cluster changes: one key added, one deleted, one modified (and one modified back and forth).
        await Seed(writer, ("d", "1"), ("b", "2"), ("c", "x"), ("c", "1"));
        await writer.DeleteAsync(Prefix + "a", Eventually.Timeout());
        Assert.Equal(Expect(("a", "1"), ("b", "1"), ("c", "1")), watcher.Snapshot());   // last known state kept
        lock (seen) seen.Clear();

        proxy.Restore();
        await Eventually.True(() => watcher.Connected && watcher.Snapshot().Count == 3 && watcher.Snapshot().ContainsKey(Prefix + "d"), "resync after the partition");
        Assert.Equal(Expect(("b", "2"), ("c", "1"), ("d", "1")), watcher.Snapshot());
        Assert.Equal(0, watcher.Resyncs);   // resumed from the revision: no relisting
        lock (seen)
        {
            Assert.Contains(new KvChange(Prefix + "d", "1"), seen);
            Assert.Contains(new KvChange(Prefix + "b", "2"), seen);
            Assert.Contains(new KvChange(Prefix + "a", null), seen);
        }
    }

    [SkippableFact]
    public async Task WatcherAndPublisherFailOverToTheNextEndpoint()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var endpoints = new[] { $"http://127.0.0.1:{EtcdProcess.FreePort()}", etcd.Endpoint };   // the first: nothing listens
        await using var node = new LocalNode(new EtcdConnection(endpoints, EtcdProcess.Fast), "cluster1", 1, "node-a", "198.18.0.1",
            TimeSpan.FromSeconds(10), ownsConnection: true);
        using var conn = new EtcdConnection(endpoints, EtcdProcess.Fast);
        await using var watcher = new PrefixWatcher(conn, Prefix);
        watcher.Start();
        for (int attempt = 1; ; attempt++)
        {
            // The first attempt may hit the dead member; the next one goes to the live one.
            try { await node.StartAsync(Eventually.Timeout()); break; }
            catch (KvStoreUnavailableException) when (attempt < 3) { }
        }
        node.PublishEndpoint(new Model.IpIdentityPair { Ip = "198.18.100.10", HostIp = "198.18.0.1", Id = 65600 });
        await node.FlushAsync(Eventually.Timeout());
        await Eventually.True(() => watcher.Connected && watcher.Count == 1, "watcher reached the live member");
    }

    [SkippableFact]
    public async Task CompactedHistoryForcesARelistThatDiffsAgainstTheCache()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        using var writer = etcd.Connect();
        await Seed(writer, ("a", "1"), ("b", "1"), ("c", "1"));
        await using var pw = await PartitionedWatcher.StartAsync(etcd);
        var (proxy, watcher, seen) = (pw.Proxy, pw.Watcher, pw.Seen);

        await pw.CutAsync();
        await Seed(writer, ("d", "1"), ("b", "2"));
        await writer.DeleteAsync(Prefix + "a", Eventually.Timeout());
        var (_, rev, _) = await writer.ListAsync(Prefix, Eventually.Timeout());
        await writer.CompactAsync(rev, Eventually.Timeout());   // the events the watcher missed are gone
        lock (seen) seen.Clear();

        proxy.Restore();
        await Eventually.True(() => watcher.Connected && watcher.Resyncs == 1, "relist after compaction");
        Assert.Equal(Expect(("b", "2"), ("c", "1"), ("d", "1")), watcher.Snapshot());
        lock (seen)
            Assert.Equal([new KvChange(Prefix + "b", "2"), new KvChange(Prefix + "d", "1"), new KvChange(Prefix + "a", null)],
                seen.OrderBy(c => c.IsDelete).ThenBy(c => c.Key, StringComparer.Ordinal));   // exactly the differences
    }

    [SkippableFact]
    public async Task EtcdDownKeepsStateQueuesPublicationsAndFailsAllocationClearlyThenRestartFlushes()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var node = new LocalNode(etcd.Connect(), "cluster1", 1, "node-a", "198.18.0.1", TimeSpan.FromSeconds(10), ownsConnection: true);
        await node.StartAsync(Eventually.Timeout());
        using var watchConn = etcd.Connect();
        await using var watcher = new PrefixWatcher(watchConn, Prefix);
        await watcher.WaitSyncedAsync(Eventually.Timeout());

        var web = new LabelSet([new Label("k8s", "app", "web")]);
        uint id = await node.Identities.AllocateAsync(web, Eventually.Timeout());
        node.PublishEndpoint(Model.IpIdentityPair.ForEndpoint(System.Net.IPAddress.Parse("198.18.100.10"), System.Net.IPAddress.Parse("198.18.0.1"), id, "node-a", 1, "shop", "web-1"));
        await node.FlushAsync(Eventually.Timeout());
        await Eventually.True(() => watcher.Count == 1, "first endpoint visible");

        await etcd.StopAsync();
        await Eventually.True(() => !watcher.Connected, "watcher notices etcd is gone");
        Assert.Equal(1, watcher.Count);   // last known state kept
        node.PublishEndpoint(Model.IpIdentityPair.ForEndpoint(System.Net.IPAddress.Parse("198.18.100.11"), System.Net.IPAddress.Parse("198.18.0.1"), id, "node-a", 2, "shop", "web-2"));
        await Eventually.True(() => node.Publisher.LastError != null, "the queued write reports why it is pending");
        Assert.Equal(1, node.Publisher.Pending);
        Assert.IsType<KvStoreUnavailableException>(node.Publisher.LastError);
        // A label set this node already holds still resolves locally; a new one needs etcd and says so.
        Assert.Equal(id, await node.Identities.AllocateAsync(web, Eventually.Timeout()));
        await Assert.ThrowsAsync<KvStoreUnavailableException>(() =>
            node.Identities.AllocateAsync(new LabelSet([new Label("k8s", "app", "db")]), Eventually.Timeout()));

        await etcd.StartAgainAsync();   // same data dir: a restart
        await node.FlushAsync(Eventually.Timeout());
        Assert.Equal(0, node.Publisher.Pending);
        await Eventually.True(() => watcher.Connected && watcher.Count == 2, "queued endpoint arrives after the restart");
        Assert.Equal(0, watcher.Resyncs);
        Assert.NotEqual(0u, await node.Identities.AllocateAsync(new LabelSet([new Label("k8s", "app", "db")]), Eventually.Timeout()));
    }

    [SkippableFact]
    public async Task AReplacedEtcdIsRelistedAndTheNodeRepublishesUnderANewLease()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await using var node = new LocalNode(etcd.Connect(), "cluster1", 1, "node-a", "198.18.0.1", TimeSpan.FromSeconds(10), ownsConnection: true);
        await node.StartAsync(Eventually.Timeout());
        using var other = etcd.Connect();
        await Seed(other, ("198.18.50.1", "{}"), ("198.18.50.2", "{}"));
        node.PublishEndpoint(new Model.IpIdentityPair { Ip = "198.18.100.10", HostIp = "198.18.0.1", Id = 65600 });
        await node.FlushAsync(Eventually.Timeout());
        using var watchConn = etcd.Connect();
        await using var watcher = new PrefixWatcher(watchConn, Prefix);
        await watcher.WaitSyncedAsync(Eventually.Timeout());
        Assert.Equal(3, watcher.Count);

        // A different etcd (fresh data dir) comes up at the same address, with other content.
        await etcd.StopAsync();
        etcd.Wipe();
        await etcd.StartAgainAsync();
        await Seed(other, ("198.18.50.3", "{}"));

        await Eventually.True(() => watcher.Resyncs >= 1 && watcher.Snapshot().ContainsKey(Prefix + "198.18.100.10")
                                    && watcher.Count == 2, "relisted the new etcd; the node's entry republished", 60);
        var keys = watcher.Snapshot().Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal([Prefix + "198.18.100.10", Prefix + "198.18.50.3"], keys);   // the stale 50.1/50.2 are gone
        Assert.True(node.Lease.Renewals >= 1);
    }
}
