using System.Runtime.InteropServices;
using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Snapshot;
using Dataplane.Linux.AfXdp;
using Dataplane.Node.Api;
using Dataplane.Node.Run;

namespace Dataplane.Node.Agent;

/// <summary>
/// The node agent behind `dataplane-node run`. Owns the worker lanes, the sockets, the config directory and
/// the registered endpoints, and keeps them consistent: every change (a YAML file, a registration, an
/// interface appearing or vanishing) is applied by <see cref="Apply"/> under one lock — load and validate the
/// whole directory, merge the registrations, compile against the running snapshot, open new sockets, hand each
/// worker its new plan, wait until all adopted it, then close what is no longer used. A change that does not
/// validate is reported and nothing is applied.
/// </summary>
public sealed class NodeAgent : IDisposable
{
    private const int SIGUSR1 = 10;
    /// <summary>AF_XDP: UMEM frames per port (fill + rx + tx + completion rings of 2048) and ports of room for pods attached later.</summary>
    private const int XdpFramesPerPort = 8192, XdpSparePorts = 4;
    /// <summary>Flow events each worker can hold until the exporter drains them (every 20 ms); beyond that they are counted as lost.</summary>
    private const int FlowRingSize = 1 << 16;
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200), PollInterval = TimeSpan.FromSeconds(1);

    private readonly RunOptions _options;
    private readonly TextWriter _log;
    private readonly Lock _apply = new();
    private readonly List<AgentLane> _lanes = [];
    private readonly PortTable _ports;
    private readonly AutoResetEvent _wake = new(false);
    private volatile bool _dirty;
    private ConfigModel _files;
    private DatapathSnapshot _snapshot;
    private long _generation = 1;
    private DateTimeOffset _applied = DateTimeOffset.UtcNow;
    private ConfigErrorStatus? _lastError;
    private readonly Dataplane.Dpdk.DpdkSession? _dpdk;
    /// <summary>--backend ebpf: the XDP (or TC) program forwards; the agent has no worker lanes, only this.</summary>
    private readonly Ebpf.EbpfBackend? _ebpf;
    private Mesh.MeshLink? _mesh;

    public EndpointStore Endpoints { get; }

    private NodeAgent(RunOptions options, TextWriter log, ConfigModel files, DatapathSnapshot snapshot, EndpointStore store)
    {
        _options = options;
        _log = log;
        _files = files;
        _snapshot = snapshot;
        Endpoints = store;
        int queues = Math.Max(1, options.Queues);
        int present = snapshot.Ports.Count(p => Dataplane.Linux.NetDevice.Exists(p.Name));
        // DPDK: the EAL, the mbuf pool and one started ethdev per interface, fixed at start (see DpdkSession for
        // the mapping); pods that appear later are not served by this backend.
        if (options.Backend == Backend.Dpdk)
        {
            _dpdk = Dataplane.Dpdk.DpdkSession.Start(Dataplane.Dpdk.Eal.EalArgs.Split(options.DpdkArgs),
                snapshot.Ports.Select(p => p.Name), queues, Dataplane.Linux.NetDevice.Exists);
            log.WriteLine($"run: dpdk EAL {string.Join(' ', _dpdk.Eal.Args)}; {_dpdk.Pool.Count} mbufs");
        }
        if (options.Backend == Backend.Ebpf)
        {
            _ebpf = Ebpf.EbpfBackend.Start(options, snapshot, log);
            queues = 0;
        }
        for (int q = 0; q < queues; q++)
        {
            // AF_XDP: one UMEM per worker, shared by all its sockets, so forwarding between ports is zero copy.
            var umem = options.Backend == Backend.AfXdp ? new XdpUmem((present + XdpSparePorts) * XdpFramesPerPort) : null;
            var flows = options.FlowsFile.Length > 0 ? new Dataplane.Core.Flows.FlowRing(FlowRingSize) : null;
            _lanes.Add(new AgentLane(q, snapshot, options.ConntrackMaxFlows, options.Worker(), umem, flows, _dpdk));
        }
        _ports = new PortTable(options, _lanes, log, _dpdk);
    }

    public DatapathSnapshot Snapshot => Volatile.Read(ref _snapshot);
    /// <summary>This node's v1 Node, from the last configuration that validated.</summary>
    public NodeSpec NodeSpec => Volatile.Read(ref _files).LocalNode;
    public long Generation => Interlocked.Read(ref _generation);
    internal IReadOnlyList<AgentLane> Lanes => _lanes;
    internal RunOptions Options => _options;
    internal Ebpf.EbpfBackend? Offload => _ebpf;

    /// <summary>Runs the agent until SIGTERM/SIGINT or <paramref name="stop"/>. Exit code: 0, 1 (failure), 2 (config).</summary>
    public static int Run(RunOptions options, TextWriter log, CancellationToken stop)
    {
        var store = new EndpointStore(Path.Combine(options.StateDir, "agent"), log);
        Action? onChange = null;
        using var watcher = new ConfigDirWatcher(options.ConfigDir, () => onChange?.Invoke());
        var files = ConfigLoader.LoadDirectory(options.ConfigDir);
        var accepted = new List<EndpointRegistration>();
        foreach (var reg in store.All)
        {
            try
            {
                EndpointMerger.Merge(files, [.. accepted, reg], options.StateDir);
                accepted.Add(reg);
            }
            catch (ConfigException e)
            {
                // Dropped from the store too: kept, it would make every later change fail to merge.
                store.Remove(reg.ContainerId, reg.IfName);
                log.WriteLine($"agent: registered endpoint {reg.Namespace}/{reg.Name} ({reg.ContainerId}/{reg.IfName}) dropped, it no longer fits the config: {e.Reason}");
            }
        }
        var merged = EndpointMerger.Merge(files, accepted, options.StateDir);
        var snapshot = SnapshotCompiler.Compile(merged, 1);
        using var agent = new NodeAgent(options, log, files, snapshot, store);
        onChange = agent.MarkDirty;
        if (options.ClusterMeshFile.Length > 0) agent.JoinMesh(merged);
        return agent.Serve(watcher, stop);
    }

    /// <summary>
    /// Cluster Mesh from <see cref="RunOptions.ClusterMeshFile"/>: the node is published under its first
    /// InternalIP (IPv4 preferred), the suffix of its identity keys as in Cilium. Forwarding starts on the local
    /// config at once; the mesh's contribution follows as soon as etcd answers.
    /// </summary>
    private void JoinMesh(ConfigModel merged)
    {
        var config = Dataplane.ClusterMesh.Config.ClusterMeshConfigLoader.LoadFile(_options.ClusterMeshFile);
        var ips = merged.LocalNode.InternalIps;
        var nodeIp = ips.FirstOrDefault(i => i.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? ips.FirstOrDefault()
            ?? throw new ConfigException(config.Source, $"clustermesh: node {merged.Local.Name} has no InternalIP to publish");
        _mesh = new Mesh.MeshLink(config, merged.Local.Name, nodeIp, RefreshMesh, _log);
        _mesh.ModelChanged(merged);
        _log.WriteLine($"agent: clustermesh: cluster {config.Cluster} (id {config.ClusterId}), {config.RemoteClusters.Count} remote cluster(s), from {_options.ClusterMeshFile}");
    }

    /// <summary>The mesh captured a new state: recompile with it (files and registrations unchanged).</summary>
    private void RefreshMesh()
    {
        lock (_apply)
        {
            try
            {
                Apply(_files, Endpoints.All, fromMesh: true);
                _log.WriteLine($"agent: clustermesh state {_mesh!.Good.Version} applied: generation {Generation}");
            }
            catch (ConfigException e)
            {
                ReportError(e.Message);
            }
            _log.Flush();
        }
    }

    private void MarkDirty()
    {
        _dirty = true;
        _wake.Set();
    }

    private int Serve(ConfigDirWatcher watcher, CancellationToken stop)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); _wake.Set(); });
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); _wake.Set(); });
        using var onUsr1 = PosixSignalRegistration.Create((PosixSignal)SIGUSR1, c => { c.Cancel = true; CounterReport.Print(_log, "stats", this); });

        lock (_apply) SyncPorts(_snapshot, start: true);
        foreach (var lane in _lanes) lane.Start(cts);
        _mesh?.Start();
        int portCount = _ports.Names.Count();
        string workers = $"{_lanes.Count} worker(s), {_options.DescribePolling()}";
        if (_ebpf is not null) (portCount, workers) = (_ebpf.Attachments.Count, "the eBPF program forwards, no worker threads");
        _log.WriteLine($"run: forwarding on {portCount} port(s), backend {Runner.Name(_options.Backend)}, {workers}; SIGUSR1 prints counters, SIGTERM stops");
        _log.WriteLine($"agent: generation {Generation}, {Snapshot.Endpoints.Count(e => e is not null)} endpoint(s); watching {_options.ConfigDir}");

        ApiServer? api = null;
        Observe.FlowExporter? flows = null;
        Observe.MetricsEndpoint? metrics = null;
        bool stopped;
        try
        {
            if (_options.FlowsFile.Length > 0)
            {
                var rings = _ebpf is not null ? [_ebpf.Flows!] : _lanes.Select(l => l.Context.Flows!).ToList();
                flows = new Observe.FlowExporter(rings, () => Snapshot, _options.FlowsFile);
                FlowsFile = flows.Path;
                _log.WriteLine($"agent: flow events to {flows.Path}");
            }
            if (_options.MetricsPort > 0)
            {
                var registry = Prometheus.Metrics.NewCustomRegistry();
                _ = new Observe.CiliumMetrics(registry, MetricsSample);
                metrics = new Observe.MetricsEndpoint(_options.MetricsAddress, _options.MetricsPort, registry);
                MetricsUrl = metrics.Url;
                _log.WriteLine($"agent: metrics on {metrics.Url}");
            }
            if (_options.SocketPath.Length > 0)
            {
                api = ApiServer.Start(this, _options.SocketPath);
                _log.WriteLine($"agent: API on unix:{_options.SocketPath}");
            }
            _log.Flush();

            var nextStats = _options.StatsIntervalSeconds > 0 ? DateTime.UtcNow.AddSeconds(_options.StatsIntervalSeconds) : DateTime.MaxValue;
            while (!cts.IsCancellationRequested)
            {
                _wake.WaitOne(PollInterval);
                if (cts.IsCancellationRequested) break;
                if (_dirty)
                {
                    // Debounce: an editor or `kubectl cp` writes a file in several steps.
                    while (_wake.WaitOne(Debounce) && !cts.IsCancellationRequested) { }
                    _dirty = false;
                }
                if (watcher.TakeChange()) ReloadFiles();
                lock (_apply)
                    if (_ebpf is not null) SyncEbpfInterfaces();
                    else if (_ports.HasMissing(_snapshot) || _ports.Stale(_snapshot).Count > 0) SyncPorts(_snapshot);
                if (DateTime.UtcNow >= nextStats)
                {
                    CounterReport.Print(_log, "stats", this);
                    nextStats = DateTime.UtcNow.AddSeconds(_options.StatsIntervalSeconds);
                }
            }
        }
        finally
        {
            // The mesh first: its loop may be recompiling, which waits for the workers to adopt the result.
            _mesh?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            // Also when the API cannot start: no worker may outlive this method (its sockets are disposed after it).
            cts.Cancel();
            api?.Dispose();
            metrics?.Dispose();
            stopped = JoinWorkers();
            _ebpf?.StopHousekeeping(); // its last ring-buffer events reach the exporter before it closes
            flows?.Dispose();
        }
        CounterReport.PollKernelStats(this);
        CounterReport.Print(_log, "exit", this);
        if (_dpdk is not null) Runner.PrintDpdk(_log, _dpdk);
        if (!stopped) return 1;
        if (_lanes.FirstOrDefault(l => l.Failure is not null) is { } failed)
        {
            _log.WriteLine($"run: worker failed: {failed.Failure}");
            return 1;
        }
        return 0;
    }

    private bool JoinWorkers()
    {
        bool stopped = true;
        foreach (var lane in _lanes)
            if (lane.Thread is { } t && !t.Join(TimeSpan.FromSeconds(10)))
            {
                _log.WriteLine($"run: worker {lane.Queue} did not stop within 10 s");
                stopped = false;
            }
        return stopped;
    }

    /// <summary>Re-reads the directory; a file that does not validate is reported and changes nothing.</summary>
    public void ReloadFiles()
    {
        lock (_apply)
        {
            try
            {
                var files = ConfigLoader.LoadDirectory(_options.ConfigDir);
                Apply(files, Endpoints.All);
                _files = files;
                _log.WriteLine($"agent: config reloaded: generation {Generation}, {_snapshot.Endpoints.Count(e => e is not null)} endpoint(s)");
            }
            catch (ConfigException e)
            {
                ReportError(e.Message);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file vanished or became unreadable between listing and reading: reported, the next change retries.
                ReportError($"{_options.ConfigDir}: {e.Message}");
            }
            _log.Flush();
        }
    }

    private void ReportError(string message)
    {
        _lastError = new ConfigErrorStatus(message, DateTimeOffset.UtcNow);
        _log.WriteLine($"agent: config error, keeping generation {Generation}: {message}");
    }

    /// <summary>Registers (or replaces) an endpoint; throws <see cref="ConfigException"/> and stores nothing when it does not fit.</summary>
    public EndpointResult Register(EndpointRegistration reg)
    {
        lock (_apply)
        {
            var others = Endpoints.All.Where(r => r.ContainerId != reg.ContainerId || r.IfName != reg.IfName).ToList();
            Apply(_files, [.. others, reg]);
            Endpoints.Put(reg);
            _log.WriteLine($"agent: endpoint {reg.Namespace}/{reg.Name} ({reg.HostInterface}, {string.Join(", ", reg.Ips)}) registered: generation {Generation}");
            _log.Flush();
            var ep = _snapshot.Endpoints.First(e => e is not null && e.Namespace == reg.Namespace && e.Name == reg.Name)!;
            return new EndpointResult(ep.Namespace, ep.Name, reg.HostInterface, ep.Identity, new Dictionary<string, string>(ep.Labels), Generation);
        }
    }

    /// <summary>Removes an endpoint; false when it was not registered.</summary>
    public bool Unregister(string containerId, string ifName)
    {
        lock (_apply)
        {
            var reg = Endpoints.Find(containerId, ifName);
            if (reg is null) return false;
            var rest = Endpoints.All.Where(r => r != reg).ToList();
            try { Apply(_files, rest); }
            catch (ConfigException e)
            {
                // Removing a pod cannot make a valid config invalid; if it does, the port still goes away with the registration.
                ReportError(e.Message);
            }
            Endpoints.Remove(containerId, ifName);
            _log.WriteLine($"agent: endpoint {reg.Namespace}/{reg.Name} ({reg.HostInterface}) unregistered: generation {Generation}");
            _log.Flush();
            return true;
        }
    }

    /// <summary>Merge, compile against the running snapshot, publish. Caller holds <see cref="_apply"/>.</summary>
    private void Apply(ConfigModel files, IReadOnlyList<EndpointRegistration> registrations, bool fromMesh = false)
    {
        var merged = EndpointMerger.Merge(files, registrations, _options.StateDir);
        var next = _mesh is { } mesh
            ? mesh.Compile(merged, Generation + 1, _snapshot)
            : SnapshotCompiler.Compile(merged, Generation + 1, _snapshot);
        // The program takes it first: if it cannot, nothing of this change is applied anywhere.
        _ebpf?.Apply(next);
        Interlocked.Increment(ref _generation);
        Volatile.Write(ref _snapshot, next);
        _applied = DateTimeOffset.UtcNow;
        SyncPorts(next);
        // A swap the mesh caused publishes nothing new; one from files or registrations does.
        if (!fromMesh) _mesh?.ModelChanged(merged);
    }

    /// <summary>
    /// Opens what appeared, gives every lane its plan for <paramref name="snapshot"/>, and closes what is no longer
    /// wanted once no lane uses it. Before the lanes run (<paramref name="start"/>) the plan is adopted on the first poll.
    /// </summary>
    private void SyncPorts(DatapathSnapshot snapshot, bool start = false)
    {
        if (_ebpf is not null) return; // attached and filled by Apply / SyncEbpfInterfaces
        _ports.OpenPresent(snapshot);
        var stale = _ports.Stale(snapshot);
        var plans = _ports.Plans(snapshot, stale);
        for (int q = 0; q < _lanes.Count; q++) _lanes[q].Publish(plans[q]);
        if (start) return;
        bool adopted = true;
        for (int q = 0; q < _lanes.Count; q++)
            adopted &= _lanes[q].WaitAdopted(plans[q], TimeSpan.FromSeconds(10));
        if (!adopted)
        {
            // A worker that did not adopt may still use the old sockets: keep them open rather than pull them away.
            _log.WriteLine("agent: a worker did not take the new configuration within 10 s; detaching deferred");
            return;
        }
        foreach (var name in stale) _ports.Close(name);
    }

    /// <summary>ebpf: an interface came or went: the port → ifindex maps are rewritten and the program attached to it.</summary>
    private void SyncEbpfInterfaces()
    {
        if (!_ebpf!.InterfacesChanged(_snapshot)) return;
        try { _ebpf.Apply(_snapshot); }
        catch (ConfigException e)
        {
            // Retried every second while the interfaces differ: reported once per distinct error, not each time.
            if (_lastError?.Message != e.Message) ReportError(e.Message);
        }
    }

    /// <summary>Where flow events go (null = not exported) and where metrics are served (null = off).</summary>
    public string? FlowsFile { get; private set; }
    public string? MetricsUrl { get; private set; }

    private static readonly string[] StageNames = Enum.GetNames<Dataplane.Core.Pipeline.StageId>();

    private Observe.MetricsSample MetricsSample()
    {
        var c = CounterReport.Sum(this, out _);
        var (entries, capacity) = ConntrackOccupancy();
        return new Observe.MetricsSample(c, entries, capacity, Generation, StageNames);
    }

    /// <summary>Connections tracked and room for them, over the workers' tables or the BPF map.</summary>
    internal (long Entries, long Capacity) ConntrackOccupancy()
    {
        if (_ebpf is not null) return _ebpf.Conntrack;
        long entries = 0, capacity = 0;
        foreach (var lane in _lanes)
            if (lane.Context.Conntrack is { } ct) { entries += ct.Count; capacity += ct.Capacity; }
        return (entries, capacity);
    }

    internal ClusterMeshStatus? MeshStatus() => _mesh?.Status();

    internal AgentStatus Status() => StatusReport.Build(this, _ports, _apply, _lastError, _applied);

    public void Dispose()
    {
        foreach (var lane in _lanes) lane.Dispose();
        _ports.Dispose();
        foreach (var lane in _lanes) lane.Umem?.Dispose();
        _dpdk?.Dispose();
        _ebpf?.Dispose();
        _wake.Dispose();
    }
}
