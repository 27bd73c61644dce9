using System.Diagnostics;
using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Testing.Etcd;
using Dataplane.Core.Identity;
using Etcdserverpb;

namespace Dataplane.Benchmarks.ClusterMesh;

/// <summary>
/// <c>mesh-scale [clusters] [nodes] [pods] [labelSets]</c> (default 32 × 100 × 100 × 10): one agent's view of a
/// simulated mesh. Each remote cluster is its own real etcd (as each cluster's clustermesh-apiserver is), filled by a
/// synthetic publisher with Cilium's keys — cluster-config, identities, one node record per node, one ipcache entry per
/// pod (IPv6 fd00::/8 addresses, so no two clusters overlap). Then one <see cref="ClusterMeshView"/> (what a node agent
/// runs) connects to all of them. Reported: the initial sync (time, keys/s), the agent's managed memory and working set,
/// the cost of one more cluster, the time from a remote pod's appearance in etcd to the agent's remote cache and on to
/// a compiled ipcache (what forwarding uses), and watch throughput under churn (events/s).
/// </summary>
internal static class MeshScale
{
    public static async Task<int> RunAsync(string[] args)
    {
        int clusters = args.Length > 0 ? int.Parse(args[0]) : 32;
        int nodes = args.Length > 1 ? int.Parse(args[1]) : 100;
        int pods = args.Length > 2 ? int.Parse(args[2]) : 100;
        int labelSets = args.Length > 3 ? int.Parse(args[3]) : 10;
        Console.WriteLine($"mesh-scale: {clusters} clusters × {nodes} nodes × {pods} pods, {labelSets} identities per cluster; {Environment.ProcessorCount} CPUs, {DateTime.UtcNow:u}");

        var etcds = new List<EtcdProcess>();
        try
        {
            // One etcd per remote cluster, plus one for "the added cluster".
            var sw = Stopwatch.StartNew();
            etcds.AddRange(await Task.WhenAll(Enumerable.Range(0, clusters + 1).Select(_ => EtcdProcess.StartAsync())));
            Console.WriteLine($"started {etcds.Count} etcd processes in {sw.Elapsed.TotalSeconds:F1} s");
            sw.Restart();
            await Task.WhenAll(etcds.Select((e, k) => FillAsync(e, k, nodes, pods, labelSets)));
            double fillS = sw.Elapsed.TotalSeconds;
            long keys = (long)(clusters + 1) * (1 + labelSets + nodes + (long)nodes * pods);
            Console.WriteLine($"synthetic publishers wrote {keys} keys in {fillS:F1} s ({keys / fillS:F0} keys/s into {etcds.Count} etcds)");

            var remotes = Enumerable.Range(0, clusters).Select(k => new RemoteClusterConfig(Name(k), Id(k), [etcds[k].Endpoint])).ToList();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            long m0 = GC.GetTotalMemory(true), ws0 = Environment.WorkingSet;
            await using var view = new ClusterMeshView(remotes);
            long delivered = 0;
            foreach (var r in view.Remotes)
                foreach (var w in r.Watchers) w.Changed += c => Interlocked.Add(ref delivered, c.Count);
            sw.Restart();
            await view.StartAsync(CancellationToken.None);
            double syncS = sw.Elapsed.TotalSeconds;
            long m1 = GC.GetTotalMemory(true), ws1 = Environment.WorkingSet;
            int endpoints = view.Remotes.Sum(r => r.EndpointCount);
            if (endpoints != clusters * nodes * pods) throw new InvalidOperationException($"view holds {endpoints} endpoints");
            Console.WriteLine($"| initial sync of {clusters} clusters | {syncS:F1} s | {delivered / syncS:F0} keys/s | {endpoints} endpoints |");
            Console.WriteLine($"| agent memory | managed +{(m1 - m0) / 1048576.0:F0} MiB ({(m1 - m0) / (double)endpoints:F0} B/endpoint) | working set +{(ws1 - ws0) / 1048576.0:F0} MiB (total {ws1 / 1048576.0:F0} MiB) |");

            // One more cluster, same size.
            sw.Restart();
            await using (var more = new ClusterMeshView([new RemoteClusterConfig(Name(clusters), Id(clusters), [etcds[clusters].Endpoint])]))
            {
                await more.StartAsync(CancellationToken.None);
                double addS = sw.Elapsed.TotalSeconds;
                long m2 = GC.GetTotalMemory(true);
                Console.WriteLine($"| one more cluster ({nodes * pods} endpoints) | sync {addS:F2} s | managed +{(m2 - m1) / 1048576.0:F1} MiB |");
            }

            // A pod appears in a remote cluster: etcd → remote cache → compiled ipcache (what the datapath uses).
            var model = Dataplane.Control.Config.ConfigLoader.Load([("n.yaml", MeshRig.LocalNode_)]);
            var toCache = new List<double>();
            var toIpcache = new List<double>();
            for (int s = 0; s < 5; s++)
            {
                int k = s * 7 % clusters;
                var remote = view.Remotes[k];
                var ip = IPAddress.Parse($"fd00:0:{k:x}:ffff::{s + 1:x}");
                var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                int before = remote.EndpointCount;
                void OnChange(RemoteCluster r) { if (r.EndpointCount > before) seen.TrySetResult(); }
                remote.Changed += OnChange;
                using var etcd = etcds[k].Connect(new EtcdOptions());
                var pair = IpIdentityPair.ForEndpoint(ip, IPAddress.Parse("198.18.0.2"), IdentityRange.Min(Id(k)), "new-node", 1, "shop", "new");
                sw.Restart();
                await etcd.PutAsync(CiliumKeys.Ip(pair.KeyName), pair.ToJson(), 0, CancellationToken.None);
                await seen.Task.WaitAsync(TimeSpan.FromMinutes(2));
                toCache.Add(sw.Elapsed.TotalMilliseconds);
                remote.Changed -= OnChange;
                var state = Dataplane.Control.Compiler.PolicyCompiler.Compile(model, [null], view.PolicyInput());
                toIpcache.Add(sw.Elapsed.TotalMilliseconds);
                if (state.IpCache.Lookup(ip) != IdentityRange.Min(Id(k))) throw new InvalidOperationException("the new pod is not in the ipcache");
            }
            toCache.Sort();
            toIpcache.Sort();
            Console.WriteLine($"| remote pod → agent's remote cache | median {toCache[2]:F1} ms (min {toCache[0]:F1}, max {toCache[4]:F1}) |");
            Console.WriteLine($"| remote pod → compiled ipcache ({endpoints} entries) | median {toIpcache[2]:F0} ms (min {toIpcache[0]:F0}, max {toIpcache[4]:F0}) |");

            // Churn: every cluster rewrites 1000 of its ipcache entries (a new identity); events/s the agent absorbs.
            int perCluster = Math.Min(1000, nodes * pods);
            long target = Interlocked.Read(ref delivered) + (long)perCluster * clusters;
            var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // Subscribed after the counter, so it sees each batch counted.
            foreach (var r in view.Remotes)
                foreach (var w in r.Watchers) w.Changed += _ => { if (Interlocked.Read(ref delivered) >= target) all.TrySetResult(); };
            sw.Restart();
            await Task.WhenAll(etcds.Take(clusters).Select((e, k) => ChurnAsync(e, k, nodes, pods, perCluster, labelSets)));
            double writeS = sw.Elapsed.TotalSeconds;
            await all.Task.WaitAsync(TimeSpan.FromMinutes(5));
            double churnS = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"| churn: {perCluster * clusters} updates in {clusters} etcds | written in {writeS:F1} s | all seen by the agent in {churnS:F1} s = {perCluster * clusters / churnS:F0} events/s |");
            return 0;
        }
        finally
        {
            await Task.WhenAll(etcds.Select(e => e.DisposeAsync().AsTask()));
        }
    }

    private static string Name(int k) => $"c{k + 2}";
    private static uint Id(int k) => (uint)(k + 2);
    private static IPAddress PodIp(int k, int n, int p) => IPAddress.Parse($"fd00:0:{k:x}:{n:x}::{p + 1:x}");

    /// <summary>Cilium's keys of one synthetic cluster, in 128-operation transactions, 4 in flight.</summary>
    private static async Task FillAsync(EtcdProcess etcd, int k, int nodes, int pods, int labelSets)
    {
        using var c = etcd.Connect(new EtcdOptions { RequestTimeout = TimeSpan.FromSeconds(60) });
        var puts = new List<(string, string)>
        {
            (CiliumKeys.ClusterConfigOf(Name(k)), new ClusterConfigRecord { Id = Id(k) }.ToJson()),
        };
        for (int j = 0; j < labelSets; j++)
            puts.Add((CiliumKeys.IdentityIds + (IdentityRange.Min(Id(k)) + (uint)j), Labels(k, j).Key));
        for (int n = 0; n < nodes; n++)
        {
            var node = new NodeRecord
            {
                Name = $"node-{n}", Cluster = Name(k), ClusterId = Id(k),
                IpAddresses = [new NodeAddress { Type = "InternalIP", Ip = $"198.18.{k}.{n + 1}" }],
                Ipv6AllocCidr = NodeRecord.Cidr(IPNetwork.Parse($"fd00:0:{k:x}:{n:x}::/64")),
            };
            puts.Add((CiliumKeys.Node(Name(k), node.Name), node.ToJson()));
            for (int p = 0; p < pods; p++)
            {
                var pair = IpIdentityPair.ForEndpoint(PodIp(k, n, p), IPAddress.Parse($"198.18.{k}.{n + 1}"),
                    IdentityRange.Min(Id(k)) + (uint)(p % labelSets), node.Name, p + 1, "shop", $"pod-{n}-{p}");
                puts.Add((CiliumKeys.Ip(pair.KeyName), pair.ToJson()));
            }
        }
        await WriteAsync(c, puts);
    }

    private static async Task ChurnAsync(EtcdProcess etcd, int k, int nodes, int pods, int count, int labelSets)
    {
        using var c = etcd.Connect(new EtcdOptions { RequestTimeout = TimeSpan.FromSeconds(60) });
        var puts = new List<(string, string)>();
        for (int i = 0; i < count; i++)
        {
            int n = i / pods % nodes, p = i % pods;
            var pair = IpIdentityPair.ForEndpoint(PodIp(k, n, p), IPAddress.Parse($"198.18.{k}.{n + 1}"),
                IdentityRange.Min(Id(k)) + (uint)((p + 1) % labelSets), $"node-{n}", p + 1, "shop", $"pod-{n}-{p}");
            puts.Add((CiliumKeys.Ip(pair.KeyName), pair.ToJson()));
        }
        await WriteAsync(c, puts);
    }

    private static async Task WriteAsync(EtcdConnection c, List<(string Key, string Value)> puts)
    {
        var inFlight = new List<Task>();
        for (int i = 0; i < puts.Count; i += 128)
        {
            var txn = new TxnRequest();
            foreach (var (key, value) in puts.Skip(i).Take(128)) txn.Success.Add(EtcdConnection.PutOp(key, value, 0));
            inFlight.Add(c.TxnAsync(txn, CancellationToken.None));
            if (inFlight.Count == 4) { await Task.WhenAny(inFlight); inFlight.RemoveAll(t => t.IsCompleted); }
        }
        await Task.WhenAll(inFlight);
    }

    private static LabelSet Labels(int k, int j) =>
        LabelKeys.InCluster(new LabelSet([new Label("k8s", "app", $"app-{j}"), new Label("k8s", "io.kubernetes.pod.namespace", "shop")]), Name(k));
}
