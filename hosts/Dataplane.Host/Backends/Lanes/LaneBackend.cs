using Dataplane.Core.Counters;
using Dataplane.Core.Flows;
using Dataplane.Core.Neighbors;
using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Api;
using Dataplane.Host.Run;
using Dataplane.Linux;

namespace Dataplane.Host.Backends.Lanes;

/// <summary>
/// The backends where C# forwards (af_packet, af_xdp, dpdk): one <see cref="AgentLane"/> (worker thread, pipeline,
/// conntrack) per queue over the ports of a <see cref="PortTable"/>. A change is adopted by opening what appeared,
/// handing every lane its plan, waiting until all took it, then closing what is no longer used, so ports that did
/// not change keep forwarding without a gap. A subclass says only how one queue of one interface is opened, what
/// its ports need around that, and what it reports.
/// </summary>
internal abstract class LaneBackend : IPacketBackend
{
    /// <summary>Flow events each worker can hold until the exporter drains them (every 20 ms); beyond that they are counted as lost.</summary>
    private const int FlowRingSize = 1 << 16;
    private static readonly TimeSpan AdoptTimeout = TimeSpan.FromSeconds(10), JoinTimeout = TimeSpan.FromSeconds(10);

    private readonly List<AgentLane> _lanes = [];
    private readonly PortTable _ports;
    private readonly FlowRing[] _flowRings;
    /// <summary>ARP/ND resolution for next hops found at run time (every lane backend's ports can send frames they
    /// did not receive: AF_PACKET and AF_XDP copy them, DPDK copies them into an mbuf).</summary>
    private readonly NeighborDriver _neighbors;

    /// <param name="canBlock">Whether the ports have descriptors a worker can wait on (else interrupt polling falls back to adaptive).</param>
    /// <param name="defaultCoalesceMicros">Interrupt polling's coalescing when --poll-coalesce-us is not given.</param>
    protected LaneBackend(RunOptions options, DatapathSnapshot first, TextWriter log, bool canBlock, int defaultCoalesceMicros,
        Action? workerStarts = null, Action? workerStops = null)
    {
        Options = options;
        Log = log;
        Polling = options.Worker(canBlock, defaultCoalesceMicros);
        int queues = Math.Max(1, options.Queues);
        var resolver = new NeighborResolver();
        var workerNeighbors = new List<WorkerNeighbors>();
        var conntrack = ConntrackHome.For(options, first.NodeName, log);
        for (int q = 0; q < queues; q++)
        {
            var table = conntrack?.Open(q, options.ConntrackMaxFlows) ?? new Dataplane.Core.Conntrack.ConntrackTable(options.ConntrackMaxFlows);
            var flows = options.FlowEvents ? new FlowRing(FlowRingSize) : null;
            var nb = new WorkerNeighbors(resolver.Table);
            workerNeighbors.Add(nb);
            _lanes.Add(new AgentLane(q, first, table, Polling, flows, workerStarts, workerStops, nb, options.L7.Tables,
                options.WorkerTraceEvents, options.WorkerDropEvents));
        }
        _neighbors = new NeighborDriver(workerNeighbors, resolver);
        _flowRings = options.FlowEvents ? [.. _lanes.Select(l => l.Context.Flows!)] : [];
        _ports = new PortTable(this, _lanes, log);
    }

    protected RunOptions Options { get; }
    protected TextWriter Log { get; }

    /// <summary>Transparent encryption (null: off): interface ports are opened wrapped in <see cref="Encryption.EncryptedPort"/>.</summary>
    internal Encryption.NodeEncryption? Encryption { get; set; }

    /// <summary>The port a backend opened, as the lanes use it: encrypting when encryption is on and it is a node interface.</summary>
    internal IPort Wrap(int queue, PortInfo p, IPort opened) =>
        Encryption is { } e && p.Kind == PortKind.Interface ? new Encryption.EncryptedPort(opened, e, p, drainsControl: queue == 0) : opened;

    /// <summary>The backend's own port under the wrappers the lanes see it through.</summary>
    internal static IPort Innermost(IPort p) => p switch
    {
        RenumberedPort r => Innermost(r.Inner),
        Encryption.EncryptedPort e => e.Inner,
        _ => p,
    };
    protected WorkerOptions Polling { get; }

    protected AgentLane LaneAt(int queue) => _lanes[queue];

    public abstract string Name { get; }
    public abstract string Mode { get; }

    /// <summary>Why this backend's ports cannot put the node's own traffic under the host firewall.</summary>
    protected abstract string HostFirewallGap { get; }

    /// <summary>
    /// The pipeline judges what it is handed with the host's policies (counted, in the flows), but the node's
    /// stack does not depend on its verdicts: host policies are not enforced on the host's traffic, and it says so.
    /// </summary>
    public string? HostFirewall(DatapathSnapshot snapshot) => snapshot.HostFirewall
        ? $"host policies NOT enforced on the node's own traffic by backend {Name}: {HostFirewallGap}; the pipeline's verdicts on frames to the host's addresses are counted and in the flows only — run --backend ebpf to enforce them"
        : null;
    public int Workers => _lanes.Count;
    public IReadOnlyList<FlowRing> FlowRings => _flowRings;
    public Exception? Failure => _lanes.FirstOrDefault(l => l.Failure is not null)?.Failure ?? _neighbors.Failure;

    public NeighborResolver? Resolver => _neighbors.Resolver;

    /// <summary>Opens queue <paramref name="queue"/> of <paramref name="p"/>: the port, the descriptor a worker waits on (-1: none) and how it runs.</summary>
    protected internal abstract IPort Open(int queue, PortInfo p, out int fd, out string mode);

    /// <summary>Whether <paramref name="e"/>, thrown by <see cref="Open"/>, means this port cannot be attached (logged, left out) rather than a bug.</summary>
    protected internal virtual bool CannotOpen(Exception e) => e is Dataplane.Linux.Interop.LinuxException or IOException or InvalidOperationException;

    /// <summary>Whether interface <paramref name="name"/> can be attached now.</summary>
    protected internal virtual bool Exists(string name) => NetDevice.Exists(name);

    /// <summary>Runs an open or close of one of lane <paramref name="queue"/>'s ports (AF_XDP: while its worker holds still).</summary>
    protected internal virtual void OnLane(int queue, Action action) => action();

    /// <summary>Closes queue <paramref name="queue"/>'s <paramref name="port"/>, which no lane uses any more (af_packet: on a thread of its own).</summary>
    protected internal virtual void Retire(int queue, IPort port) => OnLane(queue, port.Dispose);

    /// <summary>Every queue of interface <paramref name="name"/> was closed (or failed to open).</summary>
    protected internal virtual void Closed(string name) { }

    /// <summary>After the workers stopped: the kernel's own drop counters of <paramref name="port"/>.</summary>
    protected virtual void PollKernelStats(IPort port) { }

    /// <summary>Snapshots are compiled for any set of ports: nothing here can refuse one.</summary>
    public void Prepare(DatapathSnapshot next) { }

    public void Adopt(DatapathSnapshot snapshot)
    {
        Encryption?.Apply(snapshot.Encryption);
        Sync(snapshot, start: false);
        _neighbors.Configure(snapshot);
    }

    public void Poll(DatapathSnapshot current)
    {
        if (_ports.HasMissing(current) || _ports.Stale(current).Count > 0) Sync(current, start: false);
    }

    public void Start(DatapathSnapshot first, CancellationTokenSource stop)
    {
        Encryption?.Apply(first.Encryption);
        Sync(first, start: true);
        // Gratuitous ARP / unsolicited NA for the addresses coming up: the frames wait in a lane's ring until its
        // worker runs.
        _neighbors.Configure(first);
        foreach (var lane in _lanes) lane.Start(stop);
        _neighbors.Start();
    }

    /// <summary>
    /// Opens what appeared, gives every lane its plan for <paramref name="snapshot"/>, and closes what is no longer
    /// wanted once no lane uses it. Before the lanes run (<paramref name="start"/>) the plan is adopted on the first poll.
    /// </summary>
    private void Sync(DatapathSnapshot snapshot, bool start)
    {
        _ports.OpenPresent(snapshot);
        var stale = _ports.Stale(snapshot);
        var plans = _ports.Plans(snapshot, stale);
        for (int q = 0; q < _lanes.Count; q++) _lanes[q].Publish(plans[q]);
        if (start) return;
        bool adopted = true;
        for (int q = 0; q < _lanes.Count; q++)
            adopted &= _lanes[q].WaitAdopted(plans[q], AdoptTimeout);
        if (!adopted)
        {
            // A worker that did not adopt may still use the old sockets: keep them open rather than pull them away.
            Log.WriteLine("agent: a worker did not take the new configuration within 10 s; detaching deferred");
            return;
        }
        foreach (var name in stale) _ports.Close(name);
    }

    public virtual string DescribeForwarding() =>
        $"{_ports.Names.Count()} port(s), backend {Name}, {_lanes.Count} worker(s), {RunOptions.DescribePolling(Polling)}";

    public bool Stop()
    {
        _neighbors.Dispose();
        bool stopped = true;
        foreach (var lane in _lanes)
            if (lane.Thread is { } t && !t.Join(JoinTimeout))
            {
                Log.WriteLine($"run: worker {lane.Queue} did not stop within 10 s");
                stopped = false;
            }
        foreach (var lane in _lanes)
            foreach (var p in lane.Current?.Rx ?? [])
                PollKernelStats(Innermost(p));
        return stopped;
    }

    public ulong AddCounters(WorkerCounters c)
    {
        ulong txNoPort = 0;
        foreach (var lane in _lanes)
        {
            c.Add(lane.Context.Counters);
            txNoPort += lane.TxNoPort;
        }
        c.Add(_neighbors.Resolver.Counters);
        return txNoPort;
    }

    public (long Entries, long Capacity) Conntrack
    {
        get
        {
            long entries = 0, capacity = 0;
            foreach (var lane in _lanes)
                if (lane.Context.Conntrack is { } ct) { entries += ct.Count; capacity += ct.Capacity; }
            return (entries, capacity);
        }
    }

    public List<PortStatus> PortStatus(DatapathSnapshot snapshot)
    {
        var list = new List<PortStatus>();
        foreach (var p in snapshot.Ports)
        {
            ulong rx = 0, tx = 0, txDropped = 0;
            var queues = _ports.QueuesOf(p.Name);
            foreach (var q in queues ?? [])
            {
                rx += q.Stats.RxPackets;
                tx += q.Stats.TxPackets;
                txDropped += q.Stats.TxDropped;
            }
            list.Add(new PortStatus(p.Id, p.Name, p.Kind == PortKind.Interface ? "interface" : "endpoint", queues is not null, rx, tx, txDropped));
        }
        return list;
    }

    public void PrintCounters(TextWriter log, string what)
    {
        foreach (var lane in _lanes)
            foreach (var p in lane.Current?.Rx ?? [])
            {
                var s = p.Stats;
                string q = _lanes.Count > 1 ? $" queue {lane.Queue}" : "";
                log.WriteLine($"{what}:   port {p.Name}{q}: rx {s.RxPackets}, tx {s.TxPackets}, tx-dropped {s.TxDropped}, rx-skipped {s.RxSkipped}, kernel-drops {s.KernelDrops}"
                    + $", csum-completed {s.RxChecksumsCompleted}, gso-segmented {s.RxGsoSegmented}, offload-refused {s.RxOffloadRefused}");
            }
    }

    public virtual void PrintExit(TextWriter log) { }

    /// <summary>After <see cref="Stop"/>: the lanes, then their ports, then what the subclass holds them with.</summary>
    public void Dispose()
    {
        foreach (var lane in _lanes) lane.Dispose();
        _ports.Dispose();
        DisposeBackend();
        Encryption?.Dispose();
    }

    /// <summary>What outlives the ports (AF_XDP's UMEMs, the DPDK session).</summary>
    protected virtual void DisposeBackend() { }
}
