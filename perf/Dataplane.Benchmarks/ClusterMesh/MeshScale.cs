using System.Diagnostics;
using System.Net;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Testing.Etcd;

namespace Dataplane.Benchmarks.ClusterMesh;

/// <summary>
/// <c>mesh-scale [clusters] [nodes] [pods] [labelSets]</c> (default 32 × 100 × 100 × 10; <c>mesh-scale smoke</c> is
/// 3 × 10 × 20 × 4, seconds, for CI): one agent's view of a simulated mesh. Each remote cluster is its own real etcd (as
/// each cluster's clustermesh-apiserver is), filled by a <see cref="SyntheticCluster"/> publisher with Cilium's keys.
/// Then one <see cref="ClusterMeshView"/> (what a node agent runs) connects to all of them. Reported: the initial sync
/// (time, keys/s), a check that every endpoint arrived with its identity, node and cluster, the agent's managed memory
/// and working set, the cost of one more cluster, the time from a remote pod's appearance in etcd to the agent's remote
/// cache and on to a compiled ipcache (what forwarding uses), and watch throughput under churn (events/s, checked
/// again). Exits 1 when anything arrived wrong. Bounded: every wait has a deadline, the etcds are removed at the end.
/// </summary>
internal static class MeshScale
{
    public static async Task<int> RunAsync(string[] args)
    {
        bool smoke = args.Length > 0 && args[0] == "smoke";
        if (smoke) args = ["3", "10", "20", "4"];
        int clusters = args.Length > 0 ? int.Parse(args[0]) : 32;
        int nodes = args.Length > 1 ? int.Parse(args[1]) : 100;
        int pods = args.Length > 2 ? int.Parse(args[2]) : 100;
        int labelSets = args.Length > 3 ? int.Parse(args[3]) : 10;
        // The remote clusters, then "the added cluster".
        var sims = Enumerable.Range(0, clusters + 1).Select(k => new SyntheticCluster(k, nodes, pods, labelSets)).ToList();
        Console.WriteLine($"mesh-scale: {clusters} clusters × {nodes} nodes × {pods} pods, {labelSets} identities per cluster; {Environment.ProcessorCount} CPUs, {DateTime.UtcNow:u}");

        var etcds = new List<EtcdProcess>();
        try
        {
            // One etcd per remote cluster, plus one for "the added cluster".
            var sw = Stopwatch.StartNew();
            etcds.AddRange(await Task.WhenAll(Enumerable.Range(0, clusters + 1).Select(_ => EtcdProcess.StartAsync())));
            Console.WriteLine($"started {etcds.Count} etcd processes in {sw.Elapsed.TotalSeconds:F1} s");
            sw.Restart();
            await Task.WhenAll(etcds.Select((e, k) => sims[k].FillAsync(e)));
            double fillS = sw.Elapsed.TotalSeconds;
            long keys = sims.Sum(x => x.Keys);
            Console.WriteLine($"synthetic publishers wrote {keys} keys in {fillS:F1} s ({keys / fillS:F0} keys/s into {etcds.Count} etcds)");

            var remotes = Enumerable.Range(0, clusters).Select(k => sims[k].Config(etcds[k])).ToList();
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
            sw.Restart();
            if (SyntheticCluster.Mismatch(view, sims[..clusters]) is { } wrong) return Fail(wrong);
            Console.WriteLine($"checked: all {endpoints} endpoints with their identity, node and cluster, {clusters * labelSets} identities with their cluster label ({sw.Elapsed.TotalSeconds:F1} s)");
            Console.WriteLine($"| agent memory | managed +{(m1 - m0) / 1048576.0:F0} MiB ({(m1 - m0) / (double)endpoints:F0} B/endpoint) | working set +{(ws1 - ws0) / 1048576.0:F0} MiB (total {ws1 / 1048576.0:F0} MiB) |");

            // One more cluster, same size.
            sw.Restart();
            await using (var more = new ClusterMeshView([sims[clusters].Config(etcds[clusters])]))
            {
                await more.StartAsync(CancellationToken.None);
                double addS = sw.Elapsed.TotalSeconds;
                long m2 = GC.GetTotalMemory(true);
                if (SyntheticCluster.Mismatch(more, [sims[clusters]]) is { } wrongMore) return Fail(wrongMore);
                Console.WriteLine($"| one more cluster ({nodes * pods} endpoints) | sync {addS:F2} s, {sims[clusters].Keys / addS:F0} keys/s | managed +{(m2 - m1) / 1048576.0:F1} MiB |");
            }

            // A pod appears in a remote cluster: etcd → remote cache → compiled ipcache (what the datapath uses).
            var model = Dataplane.Control.Config.ConfigLoader.Load([("n.yaml", MeshRig.LocalNode_)]);
            var toCache = new List<double>();
            var toIpcache = new List<double>();
            for (int s = 0; s < 5; s++)
            {
                int k = s * 7 % clusters;
                var remote = view.Remotes[k];
                var sim = sims[k];
                var ip = IPAddress.Parse($"fd00:0:{k:x}:ffff::{s + 1:x}");
                var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                int before = remote.EndpointCount;
                void OnChange(RemoteCluster r) { if (r.EndpointCount > before) seen.TrySetResult(); }
                remote.Changed += OnChange;
                using var etcd = etcds[k].Connect(new EtcdOptions());
                var pair = IpIdentityPair.ForEndpoint(ip, IPAddress.Parse("198.18.0.2"), IdentityRange.Min(sim.Id), "new-node", 1, "shop", "new");
                sw.Restart();
                await etcd.PutAsync(CiliumKeys.Ip(pair.KeyName), pair.ToJson(), 0, CancellationToken.None);
                await seen.Task.WaitAsync(TimeSpan.FromMinutes(2));
                toCache.Add(sw.Elapsed.TotalMilliseconds);
                remote.Changed -= OnChange;
                var state = Dataplane.Control.Compiler.PolicyCompiler.Compile(model, [null], view.PolicyInput());
                toIpcache.Add(sw.Elapsed.TotalMilliseconds);
                if (state.IpCache.Lookup(ip) != IdentityRange.Min(sim.Id)) return Fail($"the new pod {ip} is not in the compiled ipcache");
                // Withdrawn again (and seen gone), so the cluster is back to exactly what its publisher wrote.
                var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                void OnGone(RemoteCluster r) { if (r.EndpointCount == before) gone.TrySetResult(); }
                remote.Changed += OnGone;
                await etcd.DeleteAsync(CiliumKeys.Ip(pair.KeyName), CancellationToken.None);
                await gone.Task.WaitAsync(TimeSpan.FromMinutes(2));
                remote.Changed -= OnGone;
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
            await Task.WhenAll(etcds.Take(clusters).Select((e, k) => sims[k].ChurnAsync(e, perCluster, generation: 1)));
            double writeS = sw.Elapsed.TotalSeconds;
            await all.Task.WaitAsync(TimeSpan.FromMinutes(5));
            double churnS = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"| churn: {perCluster * clusters} updates in {clusters} etcds | written in {writeS:F1} s | all seen by the agent in {churnS:F1} s = {perCluster * clusters / churnS:F0} events/s |");
            if (SyntheticCluster.Mismatch(view, sims[..clusters], churned: perCluster) is { } wrongChurn) return Fail(wrongChurn);
            Console.WriteLine($"checked after churn: every cluster holds exactly the rewritten identities");
            return 0;
        }
        finally
        {
            await Task.WhenAll(etcds.Select(e => e.DisposeAsync().AsTask()));
        }
    }

    private static int Fail(string what)
    {
        Console.WriteLine($"mesh-scale: FAILED: {what}");
        return 1;
    }
}
