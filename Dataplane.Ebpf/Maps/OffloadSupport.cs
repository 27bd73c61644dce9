using Dataplane.Core.Overlay;
using Dataplane.Core.Snapshot;

namespace Dataplane.Ebpf.Maps;

/// <summary>
/// Which parts of a snapshot the XDP program implements. Services (every frontend kind, Maglev and random
/// selection, sessionAffinity ClientIP, Local traffic policies, local and remote backends) and masquerade are
/// offloaded whole, the egress gateway up to 64 policies of 8 gateways, the overlay (VXLAN, SRv6 H.Encaps up to
/// 120 header bytes, local SIDs) too. What the maps cannot hold is named, and <see cref="MapFiller"/> refuses
/// such a snapshot instead of running part of it.
/// </summary>
public static class OffloadSupport
{
    /// <summary>The configured features of <paramref name="s"/> the program does not implement (empty: all offloadable).</summary>
    public static IReadOnlyList<string> Unsupported(DatapathSnapshot s)
    {
        var missing = new List<string>();
        var services = s.Services;
        var egw = services.EgressGateway;
        if (egw.Policies.Length > DatapathLimits.EgwMaxPolicies)
            missing.Add($"{egw.Policies.Length} egress gateway policies (the eBPF maps hold {DatapathLimits.EgwMaxPolicies})");
        foreach (var policy in egw.Policies)
            if (policy.Gateways.Length > DatapathLimits.EgwMaxGateways)
                missing.Add($"egress gateway policy {policy.Name} with {policy.Gateways.Length} gateways (the eBPF maps hold {DatapathLimits.EgwMaxGateways})");
        // Tunnel next hops are encapsulated by encap.h, VXLAN or SRv6 H.Encaps (one toward no known peer drops with
        // 160 on both sides); local SIDs run in srv6.h.
        foreach (var peer in s.Overlay.Peers)
            if (peer.Mode == TunnelMode.Srv6 && Math.Max(peer.Srv6Template4?.Length ?? 0, peer.Srv6Template6?.Length ?? 0) > DatapathLimits.Srv6MaxTemplate)
                missing.Add($"SRv6 peer {peer.Name} with more segments than the eBPF template holds ({DatapathLimits.Srv6MaxTemplate} bytes)");
        // dp_vni is a 65 536-bit map: cluster-scoped identities (Cluster Mesh) would be dropped as INVALID_VNI in BPF
        // where the C# pipeline accepts them — refused rather than silently different.
        if (Array.Exists(s.NextHops, nh => nh.Kind == Core.Routing.NextHopKind.Multipath))
            missing.Add("ECMP routes (learned by BGP from several peers; route.h picks one next hop per route)");
        // policy.h looks policy up by endpoint; a gateway's external workloads are found by identity.
        if (s.Policy.Workloads.Count > 0)
            missing.Add($"policy of {s.Policy.Workloads.Count} external workload identit(ies) this gateway serves (the eBPF policy is per endpoint)");
        if (s.Overlay.HasClusterScopedIdentities)
            missing.Add("Cluster Mesh identities above 65535 as VXLAN VNIs (the eBPF VNI map covers 16 bits)");
        // Overlapping pod CIDRs: the program's LB, CT and FIB are keyed by address alone (no cluster ID in lb.h's
        // backend, ct.h's NAT or route.h's lookup), so it would deliver such a backend's packets to our own pod of the
        // same address — refused rather than silently different.
        if (s.ClusterRoutes.Count > 0 || s.ClusterNetmap.Count > 0 || Array.Exists(services.Sets, set => Array.Exists(set.Backends, b => b.Cluster != 0)))
            missing.Add("Cluster Mesh backends reached by (cluster, address) for overlapping pod CIDRs (the eBPF load balancer, conntrack and FIB are keyed by address only)");
        return missing;
    }

    /// <summary>Throws <see cref="EbpfUnsupportedException"/> when <paramref name="s"/> uses anything the program lacks.</summary>
    public static void Require(DatapathSnapshot s)
    {
        var missing = Unsupported(s);
        if (missing.Count > 0) throw new EbpfUnsupportedException(missing);
    }
}

/// <summary>
/// The snapshot configures features the eBPF datapath does not implement yet; nothing was written. Such a
/// configuration runs on a C# backend.
/// </summary>
public sealed class EbpfUnsupportedException(IReadOnlyList<string> features)
    : NotSupportedException($"the eBPF maps cannot hold this configuration: the snapshot has {string.Join(", ", features)}; run it on a C# backend")
{
    public IReadOnlyList<string> Features { get; } = features;
}
