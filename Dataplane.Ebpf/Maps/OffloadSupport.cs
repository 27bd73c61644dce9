using Dataplane.Core.Overlay;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Ebpf.Maps;

/// <summary>
/// Which parts of a snapshot the XDP program implements. Services (every frontend kind, Maglev and random
/// selection, sessionAffinity ClientIP, Local traffic policies, local and remote backends) and masquerade are
/// offloaded whole, the egress gateway up to 64 policies of 8 gateways, overlay encapsulation for VXLAN peers
/// only; SRv6 has no BPF counterpart yet. A snapshot using what is missing would run in BPF as if it were not
/// configured (tunnel routes dropped, SIDs ignored), so <see cref="MapFiller"/> refuses it instead.
/// </summary>
public static class OffloadSupport
{
    /// <summary>The configured features of <paramref name="s"/> the program does not implement (empty: all offloadable).</summary>
    public static IReadOnlyList<string> Unsupported(DatapathSnapshot s)
    {
        var missing = new List<string>();
        var services = s.Services;
        var egw = services.EgressGateway;
        if (egw.Policies.Length > EgwGateway.MaxPolicies)
            missing.Add($"{egw.Policies.Length} egress gateway policies (the eBPF maps hold {EgwGateway.MaxPolicies})");
        foreach (var policy in egw.Policies)
            if (policy.Gateways.Length > EgwGateway.MaxGateways)
                missing.Add($"egress gateway policy {policy.Name} with {policy.Gateways.Length} gateways (the eBPF maps hold {EgwGateway.MaxGateways})");
        // Tunnel next hops toward VXLAN peers are encapsulated by encap.h (one toward no known peer drops with 160
        // on both sides); SRv6 encapsulation and local SIDs have no BPF counterpart.
        if (s.Overlay.HasSids) missing.Add("SRv6 SIDs/locators");
        int srv6 = s.NextHops.Count(nh => nh.Kind == NextHopKind.Tunnel && PeerOf(s, nh) is { Mode: TunnelMode.Srv6 });
        if (srv6 > 0) missing.Add($"{srv6} SRv6 tunnel next hops");
        return missing;
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
