using System.Runtime.InteropServices;
using Dataplane.Control.Config;
using Dataplane.Core.Conntrack;
using Dataplane.Control.Compiler;
using Dataplane.Core.Counters;
using Dataplane.Core.Drops;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Linux;
using Dataplane.Linux.AfPacket;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Node.Run;

public enum Backend { AfPacket, AfXdp, Dpdk, Ebpf }

/// <summary>What `run` was asked to do.</summary>
public sealed record RunOptions(string ConfigDir, Backend Backend, int PollSleepMicros, int StatsIntervalSeconds,
    XdpAttachMode XdpMode = XdpAttachMode.Auto, int Queues = 1, int ConntrackMaxFlows = RunOptions.DefaultConntrackFlows)
{
    /// <summary>The agent's API socket; empty = no API.</summary>
    public string SocketPath { get; init; } = Api.AgentSocket.DefaultPath;

    /// <summary>Where registered endpoints are kept across restarts.</summary>
    public string StateDir { get; init; } = DefaultStateDir;

    public const string DefaultStateDir = "/var/lib/dataplane";

    /// <summary>Empty polls a worker spins through before it waits on its sockets (adaptive polling); 0 = wait at once.</summary>
    public int PollSpin { get; init; } = 256;

    /// <summary>How workers wait for packets; <see cref="PollSleepMicros"/> 0 means busy whatever this says.</summary>
    public PollMode PollMode { get; init; } = PollMode.Interrupt;

    /// <summary>Interrupt mode: sleep between polls while traffic lasts, in microseconds; -1 = the backend's default.</summary>
    public int PollCoalesceMicros { get; init; } = -1;

    /// <summary>
    /// The workers' polling. DPDK has no descriptor to block on, so interrupt mode falls back to adaptive there.
    /// Default coalescing: AF_XDP 50 µs (its sockets signal every packet in generic mode, so without it a worker
    /// wakes every few packets); AF_PACKET 0 (TPACKET_V3 signals once per retired block: the block timeout
    /// already coalesces).
    /// </summary>
    public WorkerOptions Worker()
    {
        var mode = PollSleepMicros <= 0 ? PollMode.Busy
            : PollMode == PollMode.Interrupt && Backend == Backend.Dpdk ? PollMode.Adaptive
            : PollMode;
        int coalesce = PollCoalesceMicros >= 0 ? PollCoalesceMicros : Backend == Backend.AfXdp ? 50 : 0;
        return new WorkerOptions { Mode = mode, PollSleepMicros = PollSleepMicros, SpinBeforeSleep = PollSpin, CoalesceMicros = coalesce };
    }

    /// <summary>The polling as the start-up line prints it.</summary>
    public string DescribePolling()
    {
        var w = Worker();
        return w.Mode switch
        {
            PollMode.Busy => "busy polling",
            PollMode.Adaptive => $"adaptive polling (spin {w.SpinBeforeSleep}, then wait ≤ {w.PollSleepMicros} us)",
            _ => $"interrupt polling (block on the sockets, coalesce {w.CoalesceMicros} us)",
        };
    }

    /// <summary>dpdk: EAL arguments (vdevs, -l, memory); defaults in <see cref="Dataplane.Dpdk.Eal.EalArgs"/>.</summary>
    public string? DpdkArgs { get; init; }

    /// <summary>Every packet's flow event as a hubble JSON line to this file (size-rotated); empty = no flow events.</summary>
    public string FlowsFile { get; init; } = "";

    /// <summary>Prometheus metrics on http://MetricsAddress:MetricsPort/metrics; port 0 = off (Cilium's agent uses 9962).</summary>
    public int MetricsPort { get; init; }
    public string MetricsAddress { get; init; } = "127.0.0.1";

    /// <summary>ebpf: bpffs directory the program's maps are pinned in and reused from by the next agent; empty = not pinned.</summary>
    public string BpfPinDir { get; init; } = DefaultBpfPinDir;

    public const string DefaultBpfPinDir = "/sys/fs/bpf/dataplane";

    /// <summary>ebpf: on exit remove the program from the interfaces and the pinned maps (default: leave them, forwarding continues).</summary>
    public bool BpfDetachOnExit { get; init; }

    /// <summary>ebpf: the attach point, XDP (default) or TC (tcx ingress; the program detaches when the agent exits).</summary>
    public Dataplane.Ebpf.Loader.BpfHook EbpfHook { get; init; } = Dataplane.Ebpf.Loader.BpfHook.Xdp;

    /// <summary>A ClusterMeshConfig file: the agent joins Cluster Mesh (see <see cref="Mesh.MeshLink"/>); empty = off.</summary>
    public string ClusterMeshFile { get; init; } = "";

    /// <summary>Cilium's default TCP CT map size (--bpf-ct-global-tcp-max), per worker here.</summary>
    public const int DefaultConntrackFlows = 524288;
}

/// <summary>
/// `dataplane-node run`: the node agent (<see cref="Agent.NodeAgent"/>): forwards on the node's interfaces and
/// its pods' interfaces, follows the config directory and the endpoints the CNI plugin registers, serves the
/// local API, until SIGTERM/SIGINT. This class opens one port per backend.
/// </summary>
public static class Runner
{
    public static int Run(RunOptions options, TextWriter log, CancellationToken stop = default) =>
        Agent.NodeAgent.Run(options, log, stop);

    /// <summary>Opens queue <paramref name="queue"/> of interface <paramref name="p"/> on the configured backend.</summary>
    internal static IPort Open(RunOptions options, int queue, XdpUmem? umem, Dictionary<string, XdpProgram> programs, PortInfo p, int queues,
        Dataplane.Dpdk.DpdkSession? dpdk, out int fd, out string mode)
    {
        switch (options.Backend)
        {
            case Backend.Dpdk:
                fd = -1; // no descriptor: the idle waiter just sleeps (ppoll ignores negative descriptors)
                mode = dpdk!.Describe(p.Name);
                return dpdk.OpenPort(p.Id, p.Name, queue);
            case Backend.AfXdp:
                // One XDP program (and XSKMAP) per interface, shared by its queues' sockets.
                if (!programs.TryGetValue(p.Name, out var program))
                    programs[p.Name] = program = new XdpProgram(NetDevice.IndexOf(p.Name), options.XdpMode);
                var xsk = new AfXdpPort(p.Id, p.Name, umem!, new AfXdpOptions { Queue = (uint)queue }, program);
                fd = xsk.Fd;
                mode = xsk.Describe();
                return xsk;
            case Backend.AfPacket:
                var port = new AfPacketPort(p.Id, p.Name,
                    new AfPacketOptions { FanoutGroup = queues > 1 ? (ushort)(NetDevice.IndexOf(p.Name) & 0xffff) : (ushort)0 });
                fd = port.Fd;
                mode = $"af_packet tpacket_v3 rx ring, sendmmsg tx{(port.QdiscBypass ? ", qdisc bypass" : "")}{(queues > 1 ? ", fanout hash" : "")}";
                return port;
            default:
                throw new ArgumentOutOfRangeException(nameof(options));
        }
    }

    public static string Name(Backend b) => b switch { Backend.AfPacket => "af_packet", Backend.AfXdp => "af_xdp", Backend.Ebpf => "ebpf", _ => "dpdk" };

    /// <summary>The drivers' own counters per DPDK device (rx missed = ring overruns, rx no mbuf = pool exhausted).</summary>
    internal static void PrintDpdk(TextWriter log, Dataplane.Dpdk.DpdkSession dpdk)
    {
        foreach (var d in dpdk.Devices)
        {
            var s = d.Stats();
            log.WriteLine($"exit:   dpdk {d.Name}: rx {s.RxPackets}, tx {s.TxPackets}, rx-missed {s.RxMissed}, rx-errors {s.RxErrors}, tx-errors {s.TxErrors}, rx-no-mbuf {s.RxNoMbuf}");
        }
        log.WriteLine($"exit:   dpdk mbufs available {dpdk.Pool.Available} of {dpdk.Pool.Count}");
        log.Flush();
    }
}
