namespace Dataplane.Ebpf.Maps;

/// <summary>
/// Table sizes and fixed array lengths of the BPF program (enum datapath_limits in bpf/dp_consts.h; ConstantsTests
/// compares every value): what a snapshot may hold to be offloaded.
/// </summary>
public static class DatapathLimits
{
    /// <summary>Ports (dp_ports and the per-port maps).</summary>
    public const int MaxPorts = 1024;
    /// <summary>Local endpoints (dp_endpoints).</summary>
    public const int MaxEndpoints = 4096;
    /// <summary>Next hops (dp_nexthops, dp_tunnels, dp_srv6).</summary>
    public const int MaxNextHops = 65536;
    /// <summary>Port ranges one (endpoint, direction, peer, protocol) policy key holds.</summary>
    public const int PolicyRanges = 64;
    /// <summary>Egress gateway policies (the source map holds a 64-bit mask).</summary>
    public const int EgwMaxPolicies = 64;
    /// <summary>Gateway nodes of one egress gateway policy.</summary>
    public const int EgwMaxGateways = 8;
    /// <summary>Bytes of an SRv6 H.Encaps template (outer IPv6 + SRH) per inner family.</summary>
    public const int Srv6MaxTemplate = 120;
    /// <summary>Bytes of a VXLAN tunnel's outer header template (IPv6 + UDP + VXLAN; IPv4 uses 36).</summary>
    public const int TunnelTemplateBytes = 56;
    /// <summary>dp_drops slots: one per (traffic direction, drop reason), as WorkerCounters.DirectionalDrops.</summary>
    public const int DropSlots = Core.Counters.WorkerCounters.Directions * 256;
}
