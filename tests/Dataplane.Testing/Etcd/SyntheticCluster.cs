using System.Net;
using Dataplane.ClusterMesh.Config;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Keys;
using Dataplane.ClusterMesh.Kvstore;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Core.Identity;
using Etcdserverpb;

namespace Dataplane.Testing.Etcd;

/// <summary>
/// A synthetic Cluster Mesh cluster for scale runs: what its agents and clustermesh-apiserver would have written into
/// its etcd, with Cilium's keys and JSON — <c>cilium/cluster-config/&lt;name&gt;</c>, <paramref name="LabelSets"/>
/// identities, one node record per node, one ipcache entry per pod (IPv6 fd00::/8, so no two clusters overlap) — in
/// 128-operation transactions, 4 in flight. Cluster <paramref name="Index"/> k is named c(k+2) with ID k+2 (c1 is the
/// observing agent's); pod p of node n has identity <see cref="IdentityOf"/>, so a reader can check every entry.
/// </summary>
public sealed record SyntheticCluster(int Index, int Nodes, int Pods, int LabelSets)
{
    public string Name => $"c{Index + 2}";
    public uint Id => (uint)(Index + 2);
    public int Endpoints => Nodes * Pods;
    /// <summary>Keys <see cref="FillAsync"/> writes.</summary>
    public long Keys => 1 + LabelSets + Nodes + (long)Nodes * Pods;

    public RemoteClusterConfig Config(EtcdProcess etcd) => new(Name, Id, [etcd.Endpoint]);

    public IPAddress PodIp(int node, int pod) => IPAddress.Parse($"fd00:0:{Index:x}:{node:x}::{pod + 1:x}");
    public IPAddress NodeIp(int node) => IPAddress.Parse($"198.18.{Index}.{node + 1}");

    /// <summary>The identity of pod <paramref name="pod"/>, after <paramref name="generation"/> rounds of <see cref="ChurnAsync"/>.</summary>
    public uint IdentityOf(int pod, int generation = 0) => IdentityRange.Min(Id) + (uint)((pod + generation) % LabelSets);

    /// <summary>The labels of identity number <paramref name="j"/> (0-based) of this cluster, with its cluster label.</summary>
    public LabelSet Labels(int j) =>
        LabelKeys.InCluster(new LabelSet([new Label("k8s", "app", $"app-{j}"), new Label("k8s", "io.kubernetes.pod.namespace", "shop")]), Name);

    /// <summary>Writes the whole cluster.</summary>
    public async Task FillAsync(EtcdProcess etcd)
    {
        using var c = etcd.Connect(new EtcdOptions { RequestTimeout = TimeSpan.FromSeconds(60) });
        var puts = new List<(string, string)> { (CiliumKeys.ClusterConfigOf(Name), new ClusterConfigRecord { Id = Id }.ToJson()) };
        for (int j = 0; j < LabelSets; j++) puts.Add((CiliumKeys.IdentityIds + (IdentityRange.Min(Id) + (uint)j), Labels(j).Key));
        for (int n = 0; n < Nodes; n++)
        {
            var node = new NodeRecord
            {
                Name = $"node-{n}", Cluster = Name, ClusterId = Id,
                IpAddresses = [new NodeAddress { Type = "InternalIP", Ip = NodeIp(n).ToString() }],
                Ipv6AllocCidr = NodeRecord.Cidr(IPNetwork.Parse($"fd00:0:{Index:x}:{n:x}::/64")),
            };
            puts.Add((CiliumKeys.Node(Name, node.Name), node.ToJson()));
            for (int p = 0; p < Pods; p++) puts.Add(Pod(n, p, 0));
        }
        await WriteAsync(c, puts);
    }

    /// <summary>Rewrites the first <paramref name="count"/> pods' ipcache entries with the identities of <paramref name="generation"/>.</summary>
    public async Task ChurnAsync(EtcdProcess etcd, int count, int generation)
    {
        using var c = etcd.Connect(new EtcdOptions { RequestTimeout = TimeSpan.FromSeconds(60) });
        var puts = new List<(string, string)>();
        for (int i = 0; i < count; i++) puts.Add(Pod(i / Pods % Nodes, i % Pods, generation));
        await WriteAsync(c, puts);
    }

    private (string, string) Pod(int n, int p, int generation)
    {
        var pair = IpIdentityPair.ForEndpoint(PodIp(n, p), NodeIp(n), IdentityOf(p, generation), $"node-{n}", p + 1, "shop", $"pod-{n}-{p}");
        return (CiliumKeys.Ip(pair.KeyName), pair.ToJson());
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

    /// <summary>
    /// Checks that <paramref name="view"/> holds exactly what the clusters wrote (after <paramref name="churned"/> pods of
    /// each were rewritten with generation 1): every endpoint with its identity, host node and cluster, every identity
    /// with its cluster label, every node. Returns the first difference, or null.
    /// </summary>
    public static string? Mismatch(ClusterMeshView view, IReadOnlyList<SyntheticCluster> clusters, int churned = 0)
    {
        foreach (var s in clusters)
        {
            var r = view.Remotes.FirstOrDefault(x => x.Name == s.Name);
            if (r is null) return $"{s.Name}: not in the view";
            if (r.EndpointCount != s.Endpoints) return $"{s.Name}: {r.EndpointCount} endpoints, expected {s.Endpoints}";
            if (r.Nodes().Count != s.Nodes) return $"{s.Name}: {r.Nodes().Count} nodes, expected {s.Nodes}";
            var ids = r.Identities();
            for (int j = 0; j < s.LabelSets; j++)
                if (!ids.TryGetValue(IdentityRange.Min(s.Id) + (uint)j, out var labels) || labels.Key != s.Labels(j).Key)
                    return $"{s.Name}: identity {IdentityRange.Min(s.Id) + (uint)j} is {(labels is null ? "missing" : labels.Key)}";
            var byIp = r.Endpoints().ToDictionary(e => e.Prefix.BaseAddress);
            for (int n = 0; n < s.Nodes; n++)
                for (int p = 0; p < s.Pods; p++)
                {
                    int generation = n * s.Pods + p < churned ? 1 : 0;
                    if (!byIp.TryGetValue(s.PodIp(n, p), out var e)) return $"{s.Name}: pod {s.PodIp(n, p)} missing";
                    if (e.Identity != s.IdentityOf(p, generation) || e.ClusterId != s.Id || !s.NodeIp(n).Equals(e.HostIp))
                        return $"{s.Name}: pod {e.Prefix} has identity {e.Identity} on {e.HostIp} in cluster {e.ClusterId}, expected {s.IdentityOf(p, generation)} on {s.NodeIp(n)}";
                }
        }
        return null;
    }
}
