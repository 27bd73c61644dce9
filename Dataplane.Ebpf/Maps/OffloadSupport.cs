using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Ebpf.Maps;

/// <summary>
/// Which parts of a snapshot the XDP program implements. The C# pipeline's service, egress gateway, masquerade and
/// overlay stages have no BPF counterpart yet; a snapshot that uses them would run in BPF as if they were not
/// configured (no DNAT, no SNAT, tunnel routes dropped), so <see cref="MapFiller"/> refuses it instead.
/// </summary>
public static class OffloadSupport
{
    /// <summary>The configured features of <paramref name="s"/> the program does not implement (empty: all offloadable).</summary>
    public static IReadOnlyList<string> Unsupported(DatapathSnapshot s)
    {
        var missing = new List<string>();
        var services = s.Services;
        if (services.Frontends.Count > 0) missing.Add($"{services.Frontends.Count} service frontends");
        if (services.Masquerade.Enabled) missing.Add("masquerade");
        if (services.EgressGateway.Any) missing.Add($"{services.EgressGateway.Policies.Length} egress gateway policies");
        // Every remote node is a tunnel peer even in native mode (a sender whose VXLAN this node terminates), so
        // peers alone do not make a snapshot unsupported; tunnel routes (VXLAN/SRv6 mode, egress gateway steering)
        // and local SIDs do.
        if (s.Overlay.HasSids) missing.Add("SRv6 SIDs/locators");
        int tunnels = s.NextHops.Count(nh => nh.Kind == NextHopKind.Tunnel);
        if (tunnels > 0) missing.Add($"{tunnels} tunnel next hops");
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
    : NotSupportedException($"services/NAT/egress gateway/overlay are not offloaded yet: the snapshot has {string.Join(", ", features)}; run it on a C# backend")
{
    public IReadOnlyList<string> Features { get; } = features;
}
