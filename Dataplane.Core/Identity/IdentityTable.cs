using System.Net;

namespace Dataplane.Core.Identity;

/// <summary>
/// Every identity one snapshot knows: the reserved ones, one per distinct pod label set (allocated from 256
/// in ordinal order of the label-set keys, so the same config always numbers identities the same way) and
/// one per policy CIDR (local scope, allocated from (1 &lt;&lt; 24) + 1 in prefix order).
/// </summary>
public sealed class IdentityTable
{
    // Plain dictionaries: these serve the control plane and flow formatting, never the per-packet path, and
    // building frozen dictionaries costs more than it saves at 10 k entries.
    private readonly Dictionary<uint, SecurityIdentity> _byId;
    private readonly Dictionary<string, uint> _byKey;
    private readonly Dictionary<IPNetwork, uint> _byCidr;

    public bool DualStack { get; }
    public IReadOnlyCollection<SecurityIdentity> All => _byId.Values;
    public IReadOnlyDictionary<IPNetwork, uint> CidrIdentities => _byCidr;

    private IdentityTable(Dictionary<uint, SecurityIdentity> byId, Dictionary<IPNetwork, uint> byCidr, bool dualStack,
        Dictionary<string, uint> aliases)
    {
        _byId = byId;
        _byKey = byId.Values.ToDictionary(i => i.Labels.Key, i => i.Id, StringComparer.Ordinal);
        // A pinned pod identity is found under the label key its pod has in the config as well.
        foreach (var (key, id) in aliases) _byKey[key] = id;
        _byCidr = byCidr;
        DualStack = dualStack;
    }

    public SecurityIdentity? Get(uint id) => _byId.GetValueOrDefault(id);

    public uint IdOf(LabelSet labels) => _byKey.GetValueOrDefault(labels.Key);

    public uint CidrIdentity(IPNetwork prefix) => _byCidr.GetValueOrDefault(prefix);

    /// <param name="podLabels">Label sets of all pods in the cluster (any node, duplicates allowed).</param>
    /// <param name="cidrs">Prefixes named by policy; each gets a local-scope CIDR identity.</param>
    /// <param name="dualStack">Whether the node runs both families (world-ipv4/world-ipv6 instead of world).</param>
    /// <param name="external">
    /// Identities numbered elsewhere (Cluster Mesh: allocated through a remote cluster's kvstore, so their
    /// numbers are fixed by it). They keep their numbers; reserved numbers, local-scope numbers and the local
    /// allocation range 256–65535 are not theirs to take and are ignored.
    /// </param>
    /// <param name="pinned">
    /// Numbers (and cluster-named labels) for pod label sets allocated through a kvstore, keyed by the pod's
    /// label key here; they must lie outside 256–65535 like <paramref name="external"/> ones.
    /// </param>
    /// <param name="extras">Labels Cilium's ipcache metadata adds to the host, to prefixes and to remote nodes.</param>
    public static IdentityTable Build(IEnumerable<LabelSet> podLabels, IEnumerable<IPNetwork> cidrs, bool dualStack,
        IEnumerable<SecurityIdentity>? external = null, IReadOnlyDictionary<string, SecurityIdentity>? pinned = null,
        IdentityExtras? extras = null)
    {
        var byId = new Dictionary<uint, SecurityIdentity>();
        for (uint id = NumericIdentity.Host; id <= NumericIdentity.WorldIpv6; id++)
            byId[id] = new SecurityIdentity(id, IdentityLabels.Reserved(id));
        // The host identity keeps its number whatever labels its addresses carry (kube-apiserver, node labels):
        // Cilium merges them into reserved:host rather than allocating (pkg/ipcache updateReservedHostLabels).
        if (extras is { HostLabels.Count: > 0 })
            byId[NumericIdentity.Host] = new SecurityIdentity(NumericIdentity.Host,
                new LabelSet(IdentityLabels.Reserved(NumericIdentity.Host).Labels.Concat(extras.HostLabels)));
        foreach (var e in external ?? [])
            if (e.Id > NumericIdentity.MaxClusterAllocation && !NumericIdentity.IsLocalScope(e.Id))
                byId.TryAdd(e.Id, e);

        var aliases = new Dictionary<string, uint>(StringComparer.Ordinal);
        uint next = NumericIdentity.MinimalAllocation;
        var reservedKeys = byId.Values.Select(i => i.Labels.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var set in podLabels.DistinctBy(l => l.Key).OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            // An endpoint with a reserved label set (reserved:init) is that reserved identity, never a new number.
            if (reservedKeys.Contains(set.Key)) continue;
            if (pinned != null && pinned.TryGetValue(set.Key, out var pin)
                && pin.Id > NumericIdentity.MaxClusterAllocation && !NumericIdentity.IsLocalScope(pin.Id))
            {
                byId[pin.Id] = pin;
                aliases[set.Key] = pin.Id;
                continue;
            }
            if (next > NumericIdentity.MaxClusterAllocation)
                throw new InvalidOperationException("identity space of the cluster is exhausted");
            byId[next] = new SecurityIdentity(next, set);
            next++;
        }

        // Remote nodes with labels of their own (node selectors in use): remote-node scoped numbers, node-local
        // like CIDR identities; a label set equal to a reserved one (remote-node alone, or with kube-apiserver)
        // is that reserved identity, as Cilium's allocator resolves it.
        uint remote = NumericIdentity.RemoteNodeScopeFlag + 1;
        foreach (var set in (extras?.RemoteNodes ?? []).DistinctBy(l => l.Key).OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            if (set.Key == IdentityLabels.Reserved(NumericIdentity.RemoteNode).Key
                || set.Key == IdentityLabels.Reserved(NumericIdentity.KubeApiServer).Key) continue;
            byId[remote] = new SecurityIdentity(remote, set);
            remote++;
        }

        var cidrLabels = extras?.CidrLabels;
        if (cidrLabels != null) cidrs = cidrs.Concat(cidrLabels.Keys);
        var byCidr = new Dictionary<IPNetwork, uint>();
        uint local = NumericIdentity.LocalScopeFlag + 1;
        foreach (var prefix in cidrs.Distinct().OrderBy(p => p.BaseAddress.AddressFamily)
                     .ThenBy(p => p.BaseAddress.GetAddressBytes(), ByteOrder.Instance).ThenBy(p => p.PrefixLength))
        {
            // 0.0.0.0/0 and ::/0 are the world itself in Cilium, not a CIDR identity.
            if (prefix.PrefixLength == 0)
            {
                byCidr[prefix] = IdentityLabels.WorldIdentity(prefix.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6, dualStack);
                continue;
            }
            var labels = IdentityLabels.ForCidr(prefix, dualStack);
            if (cidrLabels != null && cidrLabels.TryGetValue(prefix, out var more))
                labels = new LabelSet(labels.Labels.Concat(more));
            byId[local] = new SecurityIdentity(local, labels);
            byCidr[prefix] = local++;
        }
        return new IdentityTable(byId, byCidr, dualStack, aliases);
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? a, byte[]? b) => a.AsSpan().SequenceCompareTo(b);
    }
}

/// <summary>
/// What Cilium's ipcache metadata layer adds beyond pods and policy CIDRs: labels merged into the host identity
/// (reserved:kube-apiserver when the apiserver runs here, the node's labels when node selectors are in use),
/// labels on prefixes (an apiserver outside the cluster: its CIDR identity carries reserved:kube-apiserver), and
/// the label sets of remote nodes that get identities of their own.
/// </summary>
public sealed record IdentityExtras(IReadOnlyList<Label> HostLabels,
    IReadOnlyDictionary<IPNetwork, IReadOnlyList<Label>> CidrLabels, IReadOnlyList<LabelSet> RemoteNodes);
