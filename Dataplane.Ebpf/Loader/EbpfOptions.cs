using Dataplane.Core.Conntrack;

namespace Dataplane.Ebpf.Loader;

/// <summary>How the eBPF datapath is loaded.</summary>
public sealed record EbpfOptions
{
    /// <summary>
    /// bpffs directory the maps are pinned in (e.g. /sys/fs/bpf/dataplane): a later load with the same
    /// directory reuses them, so connections and counters survive an agent restart. Null: nothing pinned.
    /// </summary>
    public string? PinDirectory { get; init; }

    /// <summary>Track connections (policy once per connection, replies pass). False: every packet is checked.</summary>
    public bool Conntrack { get; init; } = true;

    /// <summary>Connections the conntrack map holds; a new connection beyond it drops with 155.</summary>
    public uint ConntrackMaxEntries { get; init; } = 65536;

    public CtTimeouts Timeouts { get; init; } = CtTimeouts.Default;

    /// <summary>Publish one flow event per packet into the dp_events ring buffer.</summary>
    public bool FlowEvents { get; init; }

    /// <summary>
    /// Trust the in-port and clock a BPF_PROG_TEST_RUN caller puts in the XDP metadata (differential tests).
    /// Never set on a program attached to real interfaces.
    /// </summary>
    public bool TestRunMetadata { get; init; }

    /// <summary>
    /// Also load the TC entry point (dp_tc, the -DDP_TC build of the same pipeline) for tcx ingress attachment and
    /// TC test runs. It shares every map with the XDP program. Off by default: it doubles the verification time.
    /// </summary>
    public bool TcProgram { get; init; }

    /// <summary>
    /// Also load the host firewall's egress hook (dp_host_egress, for tcx egress of the node's interfaces): the host
    /// endpoint's egress policy on what the node's own stack sends. Shares every map with the XDP program.
    /// </summary>
    public bool HostEgressProgram { get; init; }
}
