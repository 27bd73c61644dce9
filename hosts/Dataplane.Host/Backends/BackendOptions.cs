using Dataplane.Ebpf.Loader;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Host.Backends;

/// <summary>
/// Which backend `run --backend` chose (<see cref="Name"/>, one of <see cref="BackendCatalog.Names"/>) and the knobs
/// only some backends read; each backend class takes what concerns it.
/// </summary>
public sealed record BackendOptions(string Name)
{
    /// <summary>af_xdp, ebpf: how the XDP program is attached (auto: native with generic fallback; ebpf: generic on veths).</summary>
    public XdpAttachMode XdpMode { get; init; } = XdpAttachMode.Auto;

    /// <summary>dpdk: EAL arguments (vdevs, -l, memory); defaults in <see cref="Dataplane.Dpdk.Eal.EalArgs"/>.</summary>
    public string? DpdkArgs { get; init; }

    /// <summary>ebpf: bpffs directory the program's maps are pinned in and reused from by the next agent; empty = not pinned.</summary>
    public string BpfPinDir { get; init; } = DefaultBpfPinDir;

    public const string DefaultBpfPinDir = "/sys/fs/bpf/dataplane";

    /// <summary>ebpf: on exit remove the program from the interfaces and the pinned maps (default: leave them, forwarding continues).</summary>
    public bool BpfDetachOnExit { get; init; }

    /// <summary>ebpf: the attach point, XDP (default) or TC (tcx ingress links, pinned in <see cref="BpfPinDir"/>).</summary>
    public BpfHook EbpfHook { get; init; } = BpfHook.Xdp;
}
