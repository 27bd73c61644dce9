using Dataplane.Core.L7;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;
using Dataplane.Core.Policy;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Identities, ipcache and per-endpoint policy maps from a validated model, off the hot path.
/// Semantics (pkg/policy): a direction is default-deny for an endpoint once a rule with that direction
/// (allow or deny) selects it, unless that rule sets enableDefaultDeny false for the direction; peers are
/// resolved to identities here (selectors against every known label set), so the datapath only matches
/// numbers; deny entries win over allows at lookup time whatever their specificity.
/// </summary>
public static class PolicyCompiler
{
    /// <summary>Label sets of the pods, computed once (local and remote pods alike).</summary>
    public static Dictionary<PodSpec, LabelSet> PodLabels(ConfigModel model)
    {
        var nsLabels = model.Namespaces.ToDictionary(n => n.Name, n => n.Labels, StringComparer.Ordinal);
        var result = new Dictionary<PodSpec, LabelSet>(ReferenceEqualityComparer.Instance);
        foreach (var pod in model.Pods)
        {
            // An endpoint whose labels are not known yet is reserved:init, as in Cilium until its pod is resolved.
            if (pod.InitIdentity) { result[pod] = IdentityLabels.Reserved(NumericIdentity.Init); continue; }
            var labels = nsLabels.TryGetValue(pod.Namespace, out var l) ? l : YNode.EmptyMap;
            // Kubernetes labels every namespace with its own name (kubernetes.io/metadata.name, since 1.21).
            labels = labels.SetItem("kubernetes.io/metadata.name", pod.Namespace);
            result[pod] = IdentityLabels.ForPod(pod.Labels, pod.Namespace, pod.ServiceAccount, labels);
        }
        return result;
    }

    /// <summary>Whether a policy selects nodes by their labels (fromNodes/toNodes): Cilium's enable-node-selector-labels.</summary>
    public static bool UsesNodeSelectors(ConfigModel model) =>
        model.Policies.Any(p => p.Rules.Any(r => r.Ingress.Concat(r.Egress).Concat(r.IngressDeny).Concat(r.EgressDeny)
            .Any(peer => !peer.Nodes.IsEmpty)));

    public static bool IsDualStack(ConfigModel model)
    {
        var node = model.LocalNode;
        var families = node.PodCidrs.Select(c => c.BaseAddress.AddressFamily)
            .Concat(node.InternalIps.Select(i => i.AddressFamily)).ToHashSet();
        return families.Contains(AddressFamily.InterNetwork) && families.Contains(AddressFamily.InterNetworkV6);
    }

    /// <param name="model">The validated configuration.</param>
    /// <param name="localEndpoints">Local pods by endpoint id (index 0 unused), as the snapshot numbers them.</param>
    /// <param name="external">Identities and ipcache entries learned outside the config (Cluster Mesh), or null.</param>
    public static PolicyState Compile(ConfigModel model, IReadOnlyList<PodSpec?> localEndpoints, ExternalIdentities? external = null)
    {
        model = PeerExpansion.Apply(model);
        bool dual = IsDualStack(model);
        var podLabels = PodLabels(model);
        var cidrs = new List<IPNetwork>();
        foreach (var p in model.Policies)
            foreach (var r in p.Rules)
                foreach (var peer in r.Ingress.Concat(r.Egress).Concat(r.IngressDeny).Concat(r.EgressDeny))
                    foreach (var c in peer.Cidrs) { cidrs.Add(c.Prefix); cidrs.AddRange(c.Except); }
        var metadata = IdentityMetadata.From(model, UsesNodeSelectors(model));
        var workloadLabels = ExternalWorkloadIdentity.Labels(model);
        var identities = IdentityTable.Build(podLabels.Values.Concat(workloadLabels.Values), cidrs, dual, external?.Identities, external?.Pinned, metadata.Extras);

        // ipcache: policy CIDRs, then node, health and ingress addresses, then pods (a more specific owner
        // replaces a CIDR).
        var entries = new List<IpCacheEntry>();
        foreach (var (prefix, id) in identities.CidrIdentities)
            if (prefix.PrefixLength > 0) entries.Add(new IpCacheEntry(prefix, id, null));
        entries.AddRange(metadata.Entries(identities));
        var nodeIp = new Dictionary<(string, AddressFamily), IPAddress>();
        foreach (var n in model.Nodes)
            foreach (var ip in n.InternalIps)
                nodeIp.TryAdd((n.Name, ip.AddressFamily), ip);
        // External workloads (VMs, servers, subnets): their addresses carry their label identity; the tunnel
        // endpoint is their gateway's InternalIP.
        foreach (var (w, labels) in workloadLabels)
        {
            uint id = identities.IdOf(labels);
            foreach (var net in w.Addresses)
                entries.Add(new IpCacheEntry(net, id, w.Gateway is { } gw ? nodeIp.GetValueOrDefault((gw, net.BaseAddress.AddressFamily)) : null));
        }
        // Learned entries (remote clusters) come before this cluster's pods: the local config wins a collision.
        if (external != null) entries.AddRange(external.IpCache);
        foreach (var pod in model.Pods)
        {
            if (pod.NodeName.Length == 0) continue;
            uint id = identities.IdOf(podLabels[pod]);
            foreach (var ip in pod.Ips)
                entries.Add(new IpCacheEntry(HostPrefix(ip), id, nodeIp.GetValueOrDefault((pod.NodeName, ip.AddressFamily))));
        }
        var ipCache = new IpCacheMap(entries, IdentityLabels.WorldIdentity(false, dual), IdentityLabels.WorldIdentity(true, dual));

        var rules = new List<PolicyRuleRef?> { null };
        var ruleIds = new Dictionary<(PolicySpec, PolicyDirection, bool, object?), uint>(new RuleKeyComparer());
        // A toPorts entry with L7 rules gets a rule of its own: the datapath redirects what it allows to the proxy,
        // which applies exactly those rules.
        uint RuleId(PolicySpec p, PolicyDirection d, bool deny, object? l7)
        {
            if (ruleIds.TryGetValue((p, d, deny, l7), out var id)) return id;
            id = (uint)rules.Count;
            rules.Add(new PolicyRuleRef(id, p.Kind, p.Name, p.Namespace, d, deny) { Http = l7 as HttpPolicy, Dns = l7 as DnsPolicy });
            ruleIds[(p, d, deny, l7)] = id;
            return id;
        }

        var ctx = new Resolver(identities);
        var named = new NamedPorts(model.Pods);
        var endpointIds = new uint[localEndpoints.Count];
        var ingress = new PolicyMap[localEndpoints.Count];
        var egress = new PolicyMap[localEndpoints.Count];
        (ingress[HostEndpoint.PolicySlot], egress[HostEndpoint.PolicySlot]) = HostMaps(model, ctx, RuleId, named);
        for (int ep = 1; ep < localEndpoints.Count; ep++)
        {
            var pod = localEndpoints[ep];
            if (pod == null) { ingress[ep] = egress[ep] = PolicyMap.Unenforced; continue; }
            var labels = podLabels[pod];
            endpointIds[ep] = identities.IdOf(labels);
            var selecting = new List<(PolicySpec Policy, PolicyRuleSpec Rule)>();
            foreach (var p in model.Policies)
                foreach (var r in p.Rules)
                    if (!r.SelectsNodes && r.Subject.Matches(labels)) selecting.Add((p, r));
            var mode = model.Local.PolicyEnforcement;
            ingress[ep] = mode == PolicyEnforcement.Never ? PolicyMap.Unenforced : BuildMap(selecting, PolicyDirection.Ingress, ctx, RuleId, mode == PolicyEnforcement.Always, named.Ingress(pod));
            egress[ep] = mode == PolicyEnforcement.Never ? PolicyMap.Unenforced : BuildMap(selecting, PolicyDirection.Egress, ctx, RuleId, mode == PolicyEnforcement.Always, named.Egress);
        }
        // The external workloads this host is a gateway of (ConfigModel.Serves): maps by identity (a workload has no port).
        var served = workloadLabels.Where(kv => model.Serves(kv.Key)).Select(kv => (Id: identities.IdOf(kv.Value), Labels: kv.Value))
            .DistinctBy(w => w.Id).OrderBy(w => w.Id).ToList();
        var wlIngress = new PolicyMap[served.Count];
        var wlEgress = new PolicyMap[served.Count];
        for (int i = 0; i < served.Count; i++)
        {
            var selecting = new List<(PolicySpec Policy, PolicyRuleSpec Rule)>();
            foreach (var p in model.Policies)
                foreach (var r in p.Rules)
                    if (!r.SelectsNodes && r.Subject.Matches(served[i].Labels)) selecting.Add((p, r));
            var mode = model.Local.PolicyEnforcement;
            wlIngress[i] = mode == PolicyEnforcement.Never ? PolicyMap.Unenforced : BuildMap(selecting, PolicyDirection.Ingress, ctx, RuleId, mode == PolicyEnforcement.Always, (_, _) => []);
            wlEgress[i] = mode == PolicyEnforcement.Never ? PolicyMap.Unenforced : BuildMap(selecting, PolicyDirection.Egress, ctx, RuleId, mode == PolicyEnforcement.Always, named.Egress);
        }
        return new PolicyState(identities, ipCache, ingress, egress, [.. rules], endpointIds)
        {
            Workloads = new WorkloadPolicies([.. served.Select(w => w.Id)], wlIngress, wlEgress),
            HostAudit = model.Local.HostPolicyAuditMode,
        };
    }

    /// <summary>
    /// The host endpoint's maps (Cilium's host firewall, bpf_host + lib/host_firewall.h): the rules of
    /// CiliumClusterwideNetworkPolicies whose nodeSelector matches this node's host endpoint — reserved:host plus the
    /// local Node's labels (source k8s, as Cilium labels its host endpoint). pkg/policy's rule.matchesSubject lets a
    /// nodeSelector rule select only the host and an endpointSelector rule never, so pods never get these rules.
    /// The host firewall is on as soon as some host policy exists (Cilium's enable-host-firewall); then, as for any
    /// endpoint, a direction is default-deny only once a selecting rule has that direction, and enforcement
    /// <c>always</c> makes both directions default-deny. Without host policies the host is never enforced.
    /// </summary>
    private static (PolicyMap Ingress, PolicyMap Egress) HostMaps(ConfigModel model, Resolver ctx,
        Func<PolicySpec, PolicyDirection, bool, object?, uint> ruleId, NamedPorts named)
    {
        var mode = model.Local.PolicyEnforcement;
        if (mode == PolicyEnforcement.Never || !model.Policies.Any(p => p.Rules.Any(r => r.SelectsNodes)))
            return (PolicyMap.Unenforced, PolicyMap.Unenforced);
        var labels = HostEndpointLabels(model);
        var selecting = new List<(PolicySpec Policy, PolicyRuleSpec Rule)>();
        foreach (var p in model.Policies)
            foreach (var r in p.Rules)
                if (r.SelectsNodes && r.Subject.Matches(labels)) selecting.Add((p, r));
        bool always = mode == PolicyEnforcement.Always;
        // The host has no container ports: a named port in a host rule's ingress allows nothing.
        return (BuildMap(selecting, PolicyDirection.Ingress, ctx, ruleId, always, (_, _) => []),
            BuildMap(selecting, PolicyDirection.Egress, ctx, ruleId, always, named.Egress));
    }

    /// <summary>The labels a nodeSelector is matched against: reserved:host and this node's Node labels.</summary>
    public static LabelSet HostEndpointLabels(ConfigModel model)
    {
        var node = model.Nodes.FirstOrDefault(n => n.Name == model.Local.Name);
        var labels = new List<Label> { IdentityLabels.ReservedLabel(NumericIdentity.Host) };
        if (node != null) labels.AddRange(node.SelectorLabels().Labels);
        return new LabelSet(labels);
    }

    private static PolicyMap BuildMap(List<(PolicySpec Policy, PolicyRuleSpec Rule)> selecting, PolicyDirection dir,
        Resolver ctx, Func<PolicySpec, PolicyDirection, bool, object?, uint> ruleId, bool always, Func<string, byte, IEnumerable<ushort>> namedPort)
    {
        bool enforced = always;
        var requires = new List<EndpointSelector>();
        foreach (var (_, r) in selecting)
        {
            bool has = dir == PolicyDirection.Ingress ? r.HasIngressSection : r.HasEgressSection;
            bool? dd = dir == PolicyDirection.Ingress ? r.DefaultDenyIngress : r.DefaultDenyEgress;
            if (has && dd != false) enforced = true;
            // A NetworkPolicy listing a policy type enforces it even with no rules of that type.
            if (dd == true && !has) enforced = true;
            foreach (var peer in dir == PolicyDirection.Ingress ? r.Ingress : r.Egress) requires.AddRange(peer.Requires);
        }

        var entries = new List<(uint, byte, PolicyEntry)>();
        foreach (var (p, r) in selecting)
        {
            foreach (var (list, deny) in dir == PolicyDirection.Ingress
                         ? new[] { (r.Ingress, false), (r.IngressDeny, true) }
                         : new[] { (r.Egress, false), (r.EgressDeny, true) })
            {
                uint plain = ruleId(p, dir, deny, null);
                foreach (var peer in list)
                {
                    var ids = ctx.Peers(peer, deny ? [] : requires);
                    if (ids.Count == 0) continue;
                    var ports = peer.HasPorts ? peer.Ports : [PortProto.Any];
                    foreach (var id in ids)
                        foreach (var pp in ports)
                        {
                            uint rule = pp.L7 is null ? plain : ruleId(p, dir, deny, pp.L7);
                            if (pp.Name is null)
                                entries.Add((id, pp.Protocol, new PolicyEntry { Low = pp.Low, High = pp.High, Rule = rule, Deny = deny ? (byte)1 : (byte)0 }));
                            else
                                foreach (ushort port in namedPort(pp.Name, pp.Protocol))   // a name no pod has allows nothing
                                    entries.Add((id, pp.Protocol, new PolicyEntry { Low = port, High = port, Rule = rule, Deny = deny ? (byte)1 : (byte)0 }));
                        }
                }
            }
        }
        return enforced || entries.Count > 0 ? new PolicyMap(enforced, entries) : PolicyMap.Unenforced;
    }

    private static IPNetwork HostPrefix(IPAddress a) => new(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);

    /// <summary>
    /// Peer → the identities it selects (0 = every identity). Selector results are cached by the selector's
    /// text (many rules share selectors, as in Cilium's selector cache), and CIDR identities are kept sorted
    /// by address so a CIDR peer visits only the prefixes inside it.
    /// </summary>
    private sealed class Resolver
    {
        private readonly IdentityTable _identities;
        private readonly SecurityIdentity[] _all;
        private readonly Dictionary<string, uint[]> _selectorCache = new(StringComparer.Ordinal);
        private readonly Dictionary<string, uint[]> _entityCache = new(StringComparer.Ordinal);
        private readonly (UInt128 Addr, int Len, uint Id)[] _cidr4, _cidr6;

        public Resolver(IdentityTable identities)
        {
            _identities = identities;
            _all = [.. identities.All.Where(i => !NumericIdentity.IsLocalScope(i.Id)).OrderBy(i => i.Id)];
            _cidr4 = Sorted(identities, AddressFamily.InterNetwork);
            _cidr6 = Sorted(identities, AddressFamily.InterNetworkV6);
        }

        private static (UInt128, int, uint)[] Sorted(IdentityTable t, AddressFamily family) =>
            [.. t.CidrIdentities.Where(kv => kv.Key.BaseAddress.AddressFamily == family && kv.Key.PrefixLength > 0)
                .Select(kv => (Key(kv.Key), kv.Key.PrefixLength, kv.Value)).OrderBy(x => x.Item1).ThenBy(x => x.Item2)];

        private static UInt128 Key(IPNetwork n) => n.BaseAddress.AddressFamily == AddressFamily.InterNetwork
            ? Core.Routing.RoutePrefix.ToUInt32(n.BaseAddress) : Core.Routing.RoutePrefix.ToUInt128(n.BaseAddress);

        public SortedSet<uint> Peers(PeerRule peer, List<EndpointSelector> requires)
        {
            var ids = new SortedSet<uint>();
            if (peer.AllPeers || (!peer.HasL3 && peer.HasPorts)) { ids.Add(0); return ids; }
            foreach (var sel in peer.Endpoints)
            {
                var s = sel;
                foreach (var req in requires) s = s.With(req);
                var key = s.ToString();
                if (!_selectorCache.TryGetValue(key, out var matched))
                {
                    var list = new List<uint>();
                    foreach (var i in _all)
                        if (s.Matches(i.Labels)) list.Add(i.Id);
                    _selectorCache[key] = matched = [.. list];
                }
                foreach (var id in matched) ids.Add(id);
            }
            foreach (var n in peer.Nodes) Nodes(n, ids);
            foreach (var e in peer.Entities) Entity(e, ids);
            foreach (var c in peer.Cidrs) Cidr(c, ids);
            return ids;
        }

        /// <summary>fromNodes/toNodes: the node identities (host, remote nodes) whose labels the selector matches.</summary>
        private void Nodes(EndpointSelector selector, SortedSet<uint> ids)
        {
            var key = "nodes:" + selector;
            if (!_selectorCache.TryGetValue(key, out var matched))
            {
                var list = new List<uint>();
                foreach (var i in _all)
                    if ((PolicyEntities.Selects("host", i.Labels) || PolicyEntities.Selects("remote-node", i.Labels)) && selector.Matches(i.Labels))
                        list.Add(i.Id);
                _selectorCache[key] = matched = [.. list];
            }
            foreach (var id in matched) ids.Add(id);
        }

        /// <summary>An entity is a set of label selectors (pkg/policy/api/entity.go) over every identity, CIDR ones included.</summary>
        private void Entity(string name, SortedSet<uint> ids)
        {
            if (name == "all") { ids.Add(0); return; }
            if (!_entityCache.TryGetValue(name, out var matched))
            {
                var list = new List<uint>();
                foreach (var i in _identities.All)
                    if (PolicyEntities.Selects(name, i.Labels)) list.Add(i.Id);
                _entityCache[name] = matched = [.. list];
            }
            foreach (var id in matched) ids.Add(id);
        }

        /// <summary>CIDR identities inside the prefix and outside every exception; /0 also selects the world.</summary>
        private void Cidr(CidrPeer c, SortedSet<uint> ids)
        {
            bool v4 = c.Prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
            var table = v4 ? _cidr4 : _cidr6;
            int bits = v4 ? 32 : 128;
            UInt128 start = Key(c.Prefix);
            UInt128 end = c.Prefix.PrefixLength == 0 ? (v4 ? uint.MaxValue : UInt128.MaxValue)
                : start | ((UInt128.One << (bits - c.Prefix.PrefixLength)) - 1);
            // First entry with address >= start, then every entry up to the end of the prefix.
            int lo = 0, hi = table.Length;
            while (lo < hi) { int mid = (lo + hi) >> 1; if (table[mid].Addr < start) lo = mid + 1; else hi = mid; }
            for (int i = lo; i < table.Length && table[i].Addr <= end; i++)
            {
                var (addr, len, id) = table[i];
                if (len < c.Prefix.PrefixLength) continue;
                bool excepted = false;
                foreach (var x in c.Except)
                {
                    if (len < x.PrefixLength) continue;
                    UInt128 xs = Key(x), xe = xs | ((UInt128.One << (bits - x.PrefixLength)) - 1);
                    if (addr >= xs && addr <= xe) { excepted = true; break; }
                }
                if (!excepted) ids.Add(id);
            }
            // Addresses no prefix covers are world; an exception always has its own CIDR identity.
            if (c.Prefix.PrefixLength == 0)
                ids.Add(IdentityLabels.WorldIdentity(!v4, _identities.DualStack));
        }
    }

    private sealed class RuleKeyComparer : IEqualityComparer<(PolicySpec, PolicyDirection, bool, object?)>
    {
        public bool Equals((PolicySpec, PolicyDirection, bool, object?) a, (PolicySpec, PolicyDirection, bool, object?) b) =>
            ReferenceEquals(a.Item1, b.Item1) && a.Item2 == b.Item2 && a.Item3 == b.Item3 && ReferenceEquals(a.Item4, b.Item4);
        public int GetHashCode((PolicySpec, PolicyDirection, bool, object?) k) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Item1), k.Item2, k.Item3,
                k.Item4 is null ? 0 : System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(k.Item4));
    }
}
