using Dataplane.Core.Overlay;
using Dataplane.Core.Routing;
using Dataplane.Core.Services;
using Dataplane.Core.Snapshot;

namespace Dataplane.Ebpf.Maps;

/// <summary>
/// Which parts of a snapshot the XDP program implements. Services are offloaded for the Maglev slice only,
/// overlay encapsulation for VXLAN peers only, masquerade (SNAT) whole; the egress gateway and SRv6 have no BPF
/// counterpart yet. A snapshot using what is missing would run in BPF as if it were not configured (no
/// steering, tunnel routes dropped, another backend choice), so <see cref="MapFiller"/> refuses it instead.
/// </summary>
public static class OffloadSupport
{
    /// <summary>The configured features of <paramref name="s"/> the program does not implement (empty: all offloadable).</summary>
    public static IReadOnlyList<string> Unsupported(DatapathSnapshot s)
    {
        var missing = new List<string>();
        var services = s.Services;
        ServiceFeatures(services, missing);
        if (services.EgressGateway.Any) missing.Add($"{services.EgressGateway.Policies.Length} egress gateway policies");
        // Tunnel next hops toward VXLAN peers are encapsulated by encap.h (one toward no known peer drops with 160
        // on both sides); SRv6 encapsulation and local SIDs have no BPF counterpart.
        if (s.Overlay.HasSids) missing.Add("SRv6 SIDs/locators");
        int srv6 = s.NextHops.Count(nh => nh.Kind == NextHopKind.Tunnel && PeerOf(s, nh) is { Mode: TunnelMode.Srv6 });
        if (srv6 > 0) missing.Add($"{srv6} SRv6 tunnel next hops");
        return missing;
    }

    /// <summary>
    /// The service slice the program carries is ClusterIP / NodePort (one frontend per node address, as compiled) /
    /// external IP / LoadBalancer IP frontends with Maglev selection, no session affinity and no Local traffic policy that narrows the backends, local or remote
    /// backends (a remote one reached from outside is DNATed then SNATed, two chained entries, as in C#).
    /// Everything outside it is named per service; the slice runs in services.h, snat.h and ct_create.h.
    /// </summary>
    private static void ServiceFeatures(ServiceState services, List<string> missing)
    {
        if (services.Frontends.Count == 0) return;
        var reasons = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var f in services.Frontends.All())
        {
            string name = services.Services[f.Service].Name;
            BackendSet set = services.Sets[f.Set];
            if (set.Backends.Length > 0 && set.Ring.Length == 0) reasons.Add($"random load balancing ({name})");
            if (services.Services[f.Service].AffinityTimeout != 0) reasons.Add($"sessionAffinity ClientIP ({name})");
            if (f.LocalNarrowed) reasons.Add($"{(f.Scope == FrontendScope.Internal ? "internal" : "external")}TrafficPolicy Local ({name})");
        }
        missing.AddRange(reasons);
    }

    private static TunnelPeer? PeerOf(DatapathSnapshot s, NextHop nh)
    {
        int peer = s.Overlay.PeerIndex.Find(nh.TunnelIsIpv6 ? nh.TunnelEndpoint : AddressIndex.V4((uint)nh.TunnelEndpoint));
        return peer < 0 ? null : s.Overlay.Peers[peer];
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
    : NotSupportedException($"services/NAT/egress gateway/overlay are not offloaded yet: the snapshot has {string.Join(", ", features)}; run it on a C# backend")
{
    public IReadOnlyList<string> Features { get; } = features;
}
