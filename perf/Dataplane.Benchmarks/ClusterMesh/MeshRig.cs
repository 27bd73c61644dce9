using System.Diagnostics;
using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Publish;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Testing.Etcd;
using Dataplane.Core.Identity;
using Etcdserverpb;

namespace Dataplane.Benchmarks.ClusterMesh;

/// <summary>
/// <c>mesh-rig [endpoints] [identities]</c>: two real etcds (two clusters) on loopback.
/// (1) Time from the first of N endpoint publications on a cluster-2 node until a cluster-1 node's remote
/// cluster cache holds all N (plus the policy compile that turns them into an ipcache), against the floor:
/// the same N values written by raw 128-operation transactions and seen by a raw prefix watch.
/// (2) Identity allocations per second through etcd (new label sets; one node, then two nodes racing for the
/// same sets), against raw compare-and-put transactions per second (one round trip each).
/// </summary>
internal static class MeshRig
{
    public static async Task<int> RunAsync(string[] args)
    {
        int endpoints = args.Length > 0 ? int.Parse(args[0]) : 10_000;
        int identities = args.Length > 1 ? int.Parse(args[1]) : 1_000;
        await using var etcd1 = await EtcdProcess.StartAsync();
        await using var etcd2 = await EtcdProcess.StartAsync();
        Console.WriteLine($"mesh-rig: etcd {etcd1.Endpoint} (cluster1), {etcd2.Endpoint} (cluster2); {endpoints} endpoints, {identities} identities");

        // ---- (1a) floor: raw transactions + raw watch on a prefix of their own ----
        var values = Enumerable.Range(0, endpoints).Select(i => IpIdentityPair.ForEndpoint(Ip(i), IPAddress.Parse("198.18.0.2"),
            (2u << 16) + 1, "node-b", i, "shop", "web-" + i)).ToList();
        using (var raw = etcd2.Connect())
        {
            const string rawPrefix = "bench/raw/";
            await using var rawWatch = new PrefixWatcher(raw, rawPrefix);
            await rawWatch.WaitSyncedAsync(CancellationToken.None);
            var seenAll = Signal(rawWatch, endpoints);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < values.Count; i += 128)
            {
                var txn = new TxnRequest();
                foreach (var v in values.Skip(i).Take(128)) txn.Success.Add(EtcdConnection.PutOp(rawPrefix + v.KeyName, v.ToJson(), 0));
                await raw.TxnAsync(txn, CancellationToken.None);
            }
            double writeMs = sw.Elapsed.TotalMilliseconds;
            await seenAll.WaitAsync(TimeSpan.FromMinutes(5));
            double rawMs = sw.Elapsed.TotalMilliseconds;
            Console.WriteLine($"| raw etcd txn (128 ops) + raw watch | {endpoints} | {writeMs:F0} | {rawMs:F0} | 1.00× |");
            RawVisibleMs = rawMs;
        }

        // ---- (1b) Cluster Mesh: a cluster-2 node publishes, a cluster-1 node's remote cache sees them ----
        await using (var publisher = new LocalNode(etcd2.Connect(), "cluster2", 2, "node-b", "198.18.0.2", TimeSpan.FromSeconds(30), ownsConnection: true))
        await using (var view = new ClusterMeshView([new RemoteClusterConfig("cluster2", 2, [etcd2.Endpoint])]))
        {
            await publisher.StartAsync(CancellationToken.None);
            await view.StartAsync(CancellationToken.None);
            var remote = view.Remotes[0];
            var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            remote.Changed += r => { if (r.EndpointCount >= endpoints) all.TrySetResult(); };
            var sw = Stopwatch.StartNew();
            foreach (var v in values) publisher.PublishEndpoint(v);
            await publisher.FlushAsync(CancellationToken.None);
            double writeMs = sw.Elapsed.TotalMilliseconds;
            await all.Task.WaitAsync(TimeSpan.FromMinutes(5));
            double visibleMs = sw.Elapsed.TotalMilliseconds;
            // What the datapath needs next: the ipcache built by Core's compiler with the remote entries.
            var model = Dataplane.Control.Config.ConfigLoader.Load([("n.yaml", LocalNode_)]);
            var sw2 = Stopwatch.StartNew();
            var input = view.PolicyInput();
            var state = Dataplane.Control.Compiler.PolicyCompiler.Compile(model, [null], input);
            double compileMs = sw2.Elapsed.TotalMilliseconds;
            if (state.IpCache.Lookup(Ip(endpoints - 1)) != (2u << 16) + 1) throw new InvalidOperationException("ipcache misses a remote endpoint");
            Console.WriteLine($"| Cluster Mesh publish → remote cache | {endpoints} | {writeMs:F0} | {visibleMs:F0} | {visibleMs / RawVisibleMs:F2}× |");
            Console.WriteLine($"mesh-rig: + ipcache/policy compile with {input.IpCache.Count} remote entries: {compileMs:F0} ms (total to ipcache {visibleMs + compileMs:F0} ms)");
        }

        // ---- (2) identity allocation rate vs raw compare-and-put round trips ----
        using (var raw = etcd1.Connect())
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < identities; i++)
            {
                var txn = new TxnRequest();
                var key = CiliumKeys.IdentityId(900_000u + (uint)i).Replace("identities", "bench-cas");
                txn.Compare.Add(new Compare { Key = Google.Protobuf.ByteString.CopyFromUtf8(key), Target = Compare.Types.CompareTarget.Create, CreateRevision = 0 });
                txn.Success.Add(EtcdConnection.PutOp(key, "x", 0));
                await raw.TxnAsync(txn, CancellationToken.None);
            }
            RawCasPerSec = identities / sw.Elapsed.TotalSeconds;
            Console.WriteLine($"| raw compare-and-put txn (1 round trip) | {identities} | {RawCasPerSec:F0}/s | 1.00× |");
        }
        await using (var a = new LocalNode(etcd1.Connect(), "cluster1", 1, "node-a", "198.18.0.1", TimeSpan.FromSeconds(30), ownsConnection: true))
        await using (var b = new LocalNode(etcd1.Connect(), "cluster1", 1, "node-c", "198.18.0.3", TimeSpan.FromSeconds(30), ownsConnection: true))
        {
            await a.StartAsync(CancellationToken.None);
            await b.StartAsync(CancellationToken.None);
            var sets = Enumerable.Range(0, identities).Select(i => new LabelSet([new Label("k8s", "app", "a" + i)])).ToList();
            var sw = Stopwatch.StartNew();
            foreach (var s in sets) await a.Identities.AllocateAsync(s, CancellationToken.None);
            double seq = identities / sw.Elapsed.TotalSeconds;
            Console.WriteLine($"| allocate new identity, 1 node, sequential | {identities} | {seq:F0}/s | {seq / RawCasPerSec:F2}× |");

            var sets2 = Enumerable.Range(0, identities).Select(i => new LabelSet([new Label("k8s", "app", "b" + i)])).ToList();
            sw.Restart();
            using var gate = new SemaphoreSlim(16);
            var tasks = sets2.SelectMany(s => new[] { a, b }.Select(async n =>
            {
                await gate.WaitAsync();
                try { return await n.Identities.AllocateAsync(s, CancellationToken.None); }
                finally { gate.Release(); }
            })).ToList();
            var ids = await Task.WhenAll(tasks);
            double racing = identities / sw.Elapsed.TotalSeconds;
            for (int i = 0; i < ids.Length; i += 2)
                if (ids[i] != ids[i + 1]) throw new InvalidOperationException("nodes disagree on an identity");
            Console.WriteLine($"| allocate new identity, 2 nodes racing for each set, 16 in flight | {identities} | {racing:F0}/s | {racing / RawCasPerSec:F2}× |");
        }
        return 0;
    }

    private static double RawVisibleMs, RawCasPerSec;

    private static IPAddress Ip(int i) => new([198, 19, (byte)(i >> 8), (byte)i]);

    private static Task Signal(PrefixWatcher w, int count)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        w.Changed += _ => { if (w.Count >= count) tcs.TrySetResult(); };
        return tcs.Task;
    }

    /// <summary>The watching node's own config (its ipcache gets the remote entries).</summary>
    internal const string LocalNode_ = """
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          interfaces: [{name: eth0, mac: "02:00:00:00:0a:01", addresses: ["198.18.0.1/24"]}]
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["198.18.121.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        """;
}
