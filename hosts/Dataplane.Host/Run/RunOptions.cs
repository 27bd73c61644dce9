using Dataplane.Core.Ports;
using Dataplane.Host.Backends;

namespace Dataplane.Host.Run;

/// <summary>
/// What a host's `run` was asked to do, common to every host: the config directory, the backend (by name, with
/// its own knobs in <see cref="PacketIo"/>), the workers' polling, the local API, metrics, flow export, Cluster Mesh.
/// </summary>
public sealed record RunOptions(string ConfigDir, BackendOptions PacketIo, int PollSleepMicros, int StatsIntervalSeconds,
    int Queues = 1, int ConntrackMaxFlows = RunOptions.DefaultConntrackFlows)
{
    /// <summary>The agent's API socket; empty = no API.</summary>
    public string SocketPath { get; init; } = Api.AgentSocket.DefaultPath;

    /// <summary>Where the host keeps state across restarts (the node: endpoints the CNI plugin registered).</summary>
    public string StateDir { get; init; } = DefaultStateDir;

    public const string DefaultStateDir = "/var/lib/dataplane";

    /// <summary>Empty polls a worker spins through before it waits on its sockets (adaptive polling); 0 = wait at once.</summary>
    public int PollSpin { get; init; } = 256;

    /// <summary>How workers wait for packets; <see cref="PollSleepMicros"/> 0 means busy whatever this says.</summary>
    public PollMode PollMode { get; init; } = PollMode.Interrupt;

    /// <summary>Interrupt mode: sleep between polls while traffic lasts, in microseconds; -1 = the backend's default.</summary>
    public int PollCoalesceMicros { get; init; } = -1;

    /// <summary>
    /// The workers' polling on a backend whose ports can (<paramref name="canBlock"/>) or cannot be waited on —
    /// interrupt mode falls back to adaptive on the latter — with <paramref name="defaultCoalesceMicros"/> when
    /// --poll-coalesce-us was not given.
    /// </summary>
    public WorkerOptions Worker(bool canBlock, int defaultCoalesceMicros)
    {
        var mode = PollSleepMicros <= 0 ? PollMode.Busy
            : PollMode == PollMode.Interrupt && !canBlock ? PollMode.Adaptive
            : PollMode;
        int coalesce = PollCoalesceMicros >= 0 ? PollCoalesceMicros : defaultCoalesceMicros;
        return new WorkerOptions { Mode = mode, PollSleepMicros = PollSleepMicros, SpinBeforeSleep = PollSpin, CoalesceMicros = coalesce };
    }

    /// <summary>The polling of <paramref name="w"/> as the start-up line prints it.</summary>
    public static string DescribePolling(WorkerOptions w) => w.Mode switch
    {
        PollMode.Busy => "busy polling",
        PollMode.Adaptive => $"adaptive polling (spin {w.SpinBeforeSleep}, then wait ≤ {w.PollSleepMicros} us)",
        _ => $"interrupt polling (block on the sockets, coalesce {w.CoalesceMicros} us)",
    };

    /// <summary>Every packet's flow event as a hubble JSON line to this file (size-rotated); empty = no flow events.</summary>
    public string FlowsFile { get; init; } = "";

    /// <summary>Dropped-packet flow events exported per second at most (a flood's drops are counted, not all written); 0 = no limit.</summary>
    public int FlowsDropRate { get; init; } = Observe.FlowExporter.DefaultDropRate;

    /// <summary>Hubble's Observer API on this unix socket; empty = not on a socket.</summary>
    public string HubbleSocket { get; init; } = "";

    /// <summary>Hubble's Observer API on this TCP ADDRESS:PORT; empty = not on TCP.</summary>
    public string HubbleListenAddress { get; init; } = "";

    /// <summary>TLS on <see cref="HubbleListenAddress"/> (--hubble-tls-cert-file, -key-file, -client-ca-files); null = plain.</summary>
    public Hubble.HubbleTls? HubbleTls { get; init; }

    /// <summary>Flows kept for GetFlows (Hubble's ring buffer).</summary>
    public int HubbleBufferCapacity { get; init; } = Hubble.FlowHistory.DefaultCapacity;

    /// <summary>The Observer API is served somewhere.</summary>
    public bool HubbleEnabled => HubbleSocket.Length > 0 || HubbleListenAddress.Length > 0;

    /// <summary>Flows of forwarded and host-bound packets are recorded (Cilium's --bpf-events-trace-enabled); off = drops only.</summary>
    public bool TraceEvents { get; init; } = true;

    /// <summary>Flows of dropped packets are recorded (Cilium's --bpf-events-drop-enabled).</summary>
    public bool DropEvents { get; init; } = true;

    /// <summary>What the workers put in their rings: IPFIX counts every packet, so with it they record all, and Hubble's side leaves out the rest.</summary>
    public bool WorkerTraceEvents => TraceEvents || Ipfix is not null;
    public bool WorkerDropEvents => DropEvents || Ipfix is not null;

    /// <summary>IPFIX export of the flows to a collector (--ipfix-collector …); null = off.</summary>
    public Ipfix.IpfixOptions? Ipfix { get; init; }

    /// <summary>Workers record flow events (for the flow file, the Observer API, IPFIX).</summary>
    public bool FlowEvents => FlowsFile.Length > 0 || HubbleEnabled || Ipfix is not null;

    /// <summary>Prometheus metrics on http://MetricsAddress:MetricsPort/metrics; port 0 = off (Cilium's agent uses 9962).</summary>
    public int MetricsPort { get; init; }
    public string MetricsAddress { get; init; } = "127.0.0.1";

    /// <summary>A ClusterMeshConfig file: the agent joins Cluster Mesh (see <see cref="Mesh.MeshLink"/>); empty = off.</summary>
    public string ClusterMeshFile { get; init; } = "";

    /// <summary>
    /// Where each worker's conntrack table lives in shared memory (a file per worker on a tmpfs), so established
    /// connections survive an agent restart as Cilium's pinned CT maps do; "" = in process memory only.
    /// </summary>
    public string ConntrackDir { get; init; } = DefaultConntrackDir;

    /// <summary>Whether <see cref="ConntrackDir"/> was asked for (--ct-dir): then a directory that is not on a tmpfs is
    /// a start-up error; the default only falls back to memory with a log line.</summary>
    public bool ConntrackDirGiven { get; init; }

    public const string DefaultConntrackDir = "/run/dataplane/conntrack";

    /// <summary>The tables and flow ring the workers share with the host's L7 proxy (the node runs one when policies carry L7 rules).</summary>
    public L7.L7Shared L7 { get; init; } = new();

    /// <summary>Cilium's default TCP CT map size (--bpf-ct-global-tcp-max), per worker here.</summary>
    public const int DefaultConntrackFlows = 524288;
}
