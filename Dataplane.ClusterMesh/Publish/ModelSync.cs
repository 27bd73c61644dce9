using System.Net;
using System.Net.Sockets;
using Dataplane.ClusterMesh.Identity;
using Dataplane.ClusterMesh.Model;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;
using Dataplane.Core.Policy;
using Dataplane.Control.Compiler;

namespace Dataplane.ClusterMesh.Publish;

/// <summary>
/// Publishes what a node's configuration says about itself into its cluster's etcd: the node (InternalIPs, pod
/// CIDRs) and, for every local pod, a cluster-wide identity (its Cilium labels with this cluster's name) and one
/// ipcache entry per pod IP. Each call makes etcd match the model: endpoints no longer in it are withdrawn and
/// identities no longer used are released. Endpoint ids follow the snapshot compiler's order (namespace, name).
/// </summary>
public sealed class ModelSync(LocalNode node)
{
    private readonly Dictionary<string, LabelSet> _held = new(StringComparer.Ordinal);   // label key → set
    private readonly HashSet<string> _endpoints = new(StringComparer.Ordinal);            // ipcache key names

    /// <returns>The identity of each local pod.</returns>
    public async Task<Dictionary<PodSpec, uint>> SyncAsync(ConfigModel model, CancellationToken ct)
    {
        if (model.Local.Name != node.NodeName)
            throw new ArgumentException($"the model is node {model.Local.Name}'s, this is node {node.NodeName}", nameof(model));
        var self = model.LocalNode;
        node.PublishNode(new NodeRecord
        {
            Name = self.Name,
            IpAddresses = [.. self.InternalIps.Select(ip => new NodeAddress { Type = "InternalIP", Ip = ip.ToString() })],
            Ipv4AllocCidr = Cidr(self.PodCidrs, AddressFamily.InterNetwork),
            Ipv6AllocCidr = Cidr(self.PodCidrs, AddressFamily.InterNetworkV6),
            Labels = self.Labels.Count > 0 ? new Dictionary<string, string>(self.Labels) : null,
        });

        var podLabels = PolicyCompiler.PodLabels(model);
        var pods = model.LocalPods.OrderBy(p => p.Namespace, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal).ToList();
        var ids = new Dictionary<PodSpec, uint>(ReferenceEqualityComparer.Instance);
        var used = new Dictionary<string, LabelSet>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            var labels = LabelKeys.InCluster(podLabels[pod], node.Cluster);
            used[labels.Key] = labels;
            // One reference per distinct label set held by this node, taken once.
            ids[pod] = await node.Identities.AllocateAsync(labels, ct).ConfigureAwait(false);
            if (!_held.TryAdd(labels.Key, labels))
                await node.Identities.ReleaseAsync(labels, ct).ConfigureAwait(false);
        }

        var now = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < pods.Count; i++)
        {
            var pod = pods[i];
            foreach (var ip in pod.Ips)
            {
                var host = self.InternalIps.FirstOrDefault(h => h.AddressFamily == ip.AddressFamily) ?? self.InternalIps.FirstOrDefault();
                if (host == null) continue;
                var entry = IpIdentityPair.ForEndpoint(ip, host, ids[pod], self.Name, i + 1, pod.Namespace, pod.Name);
                now.Add(entry.KeyName);
                node.PublishEndpoint(entry);
            }
        }
        foreach (var gone in _endpoints.Where(k => !now.Contains(k)).ToList()) node.RemoveEndpoint(gone);
        _endpoints.Clear();
        _endpoints.UnionWith(now);

        foreach (var (key, labels) in _held.Where(kv => !used.ContainsKey(kv.Key)).ToList())
        {
            // Forgotten only once released: if etcd is down this throws and the next call retries it.
            await node.Identities.ReleaseAsync(labels, ct).ConfigureAwait(false);
            _held.Remove(key);
        }
        return ids;
    }

    private static GoIpNet? Cidr(IEnumerable<IPNetwork> cidrs, AddressFamily family) =>
        cidrs.Where(c => c.BaseAddress.AddressFamily == family).Select(NodeRecord.Cidr).FirstOrDefault();
}
