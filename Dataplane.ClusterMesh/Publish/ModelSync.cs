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
/// ipcache entry per pod IP; every external workload's identity, and the ipcache entries of those this host is the
/// gateway of. Each call makes etcd match the model: endpoints no longer in it are withdrawn and
/// identities no longer used are released. Endpoint ids follow the snapshot compiler's order (namespace, name).
/// </summary>
public sealed class ModelSync(LocalNode node)
{
    private readonly Dictionary<string, LabelSet> _held = new(StringComparer.Ordinal);   // label key → set
    private readonly HashSet<string> _endpoints = new(StringComparer.Ordinal);            // ipcache key names

    /// <summary>
    /// The kvstore identity of each external workload of the last synced model (every host numbers them through the
    /// kvstore: a VNI must mean the same workload on the gateway and on every node).
    /// </summary>
    public IReadOnlyDictionary<ExternalWorkloadSpec, uint> WorkloadIds { get; private set; } = new Dictionary<ExternalWorkloadSpec, uint>();

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
            Annotations = NodeTunnelAnnotations.Of(model),
            WireguardPubKey = self.Annotations.GetValueOrDefault(EncryptionSpec.PublicKeyAnnotation),
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

        var workloadLabels = ExternalWorkloadIdentity.Labels(model);
        var workloadIds = new Dictionary<ExternalWorkloadSpec, uint>(ReferenceEqualityComparer.Instance);
        foreach (var (w, l) in workloadLabels.OrderBy(kv => kv.Key.Namespace, StringComparer.Ordinal).ThenBy(kv => kv.Key.Name, StringComparer.Ordinal))
        {
            var labels = LabelKeys.InCluster(l, node.Cluster);
            used[labels.Key] = labels;
            workloadIds[w] = await node.Identities.AllocateAsync(labels, ct).ConfigureAwait(false);
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
        // The workloads this host is the gateway of: their addresses (a /32 or a subnet) with this host as the
        // tunnel endpoint, as a node publishes its pods.
        foreach (var w in model.ExternalWorkloads.Where(w => w.Gateway == self.Name))
            foreach (var net in w.Addresses)
            {
                var family = net.BaseAddress.AddressFamily;
                var host = self.InternalIps.FirstOrDefault(h => h.AddressFamily == family) ?? self.InternalIps.FirstOrDefault();
                if (host == null) continue;
                bool single = net.PrefixLength == (family == AddressFamily.InterNetwork ? 32 : 128);
                var entry = new IpIdentityPair
                {
                    Ip = net.BaseAddress.ToString(), Mask = single ? null : GoNet.MaskOf(net.PrefixLength, family),
                    HostIp = host.ToString(), Id = workloadIds[w],
                    Metadata = $"cilium-global:{w.Namespace}:{self.Name}:external-workload/{w.Name}", K8sNamespace = w.Namespace,
                };
                now.Add(entry.KeyName);
                node.PublishEndpoint(entry);
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
        WorkloadIds = workloadIds;
        return ids;
    }

    private static GoIpNet? Cidr(IEnumerable<IPNetwork> cidrs, AddressFamily family) =>
        cidrs.Where(c => c.BaseAddress.AddressFamily == family).Select(NodeRecord.Cidr).FirstOrDefault();
}
