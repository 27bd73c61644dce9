using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Api;
using Dataplane.Host.Backends;
using Dataplane.Host.Mesh;
using Dataplane.Host.Run;

namespace Dataplane.Host.Agent;

/// <summary>
/// The agent behind a host's `run`: owns the backend, the config directory and the configuration in force, and
/// keeps them consistent. Every change (a YAML file, something the host merges in such as a registered pod, the
/// Cluster Mesh state, an interface appearing or vanishing) is applied by <see cref="Apply"/> under one lock —
/// load and validate the whole directory, extend it as the host does, compile against the running snapshot, let
/// the backend take it (it may refuse: then nothing is applied), swap, let the backend adopt it. A change that
/// does not validate is reported and nothing is applied. The lifecycle (signals, services, the watch loop) is in
/// <see cref="AgentLifecycle"/>.
/// </summary>
public sealed class HostAgent : IDisposable
{
    private readonly RunOptions _options;
    private readonly HostProfile _profile;
    private readonly TextWriter _log;
    private readonly Lock _apply = new();
    private ConfigModel _files;
    private DatapathSnapshot _snapshot;
    private long _generation = 1;
    private DateTimeOffset _applied = DateTimeOffset.UtcNow;
    private ConfigErrorStatus? _lastError;
    private MeshLink? _mesh;
    private System.Collections.Immutable.ImmutableArray<LearnedRouteSpec> _learned = [];

    internal HostAgent(HostProfile profile, RunOptions options, TextWriter log, ConfigModel files, DatapathSnapshot snapshot, IPacketBackend backend)
    {
        _profile = profile;
        _options = options;
        _log = log;
        _files = files;
        _snapshot = snapshot;
        PacketIo = backend;
    }

    public DatapathSnapshot Snapshot => Volatile.Read(ref _snapshot);
    /// <summary>The directory's model that was last applied (without what the host merges in).</summary>
    public ConfigModel Files => Volatile.Read(ref _files);
    public long Generation => Interlocked.Read(ref _generation);
    public DateTimeOffset LastApplied => _applied;
    public ConfigErrorStatus? LastError => _lastError;
    public IPacketBackend PacketIo { get; }
    public RunOptions Options => _options;
    public HostProfile Profile => _profile;
    internal MeshLink? Mesh => _mesh;
    /// <summary>Transparent encryption (null: off). Owned by the backend; the agent annotates the model with its key.</summary>
    internal Encryption.NodeEncryption? Encryption { get; init; }
    /// <summary>The BGP speakers (idle while the configuration has no CiliumBGPClusterConfig for this node).</summary>
    internal Bgp.BgpAgent? Bgp { get; set; }
    internal TextWriter Log => _log;

    /// <summary>What the host announces by BGP changed without a new configuration (<paramref name="why"/> is logged):
    /// the speakers plan again from the model in force.</summary>
    public void AnnouncementsChanged(string why)
    {
        _log.WriteLine($"agent: bgp: {why}");
        Bgp?.Replan();
    }

    /// <summary>Where flow events go (null = not exported) and where metrics are served (null = off).</summary>
    public string? FlowsFile { get; internal set; }
    /// <summary>The flow exporter, for its figures (null = not exported).</summary>
    internal Observe.FlowExporter? Flows { get; set; }
    public string? MetricsUrl { get; internal set; }

    /// <summary>
    /// Runs <paramref name="action"/> under the apply lock, so a host can apply a change and record what caused it
    /// (e.g. store a registration) with no other change in between. The lock is reentrant: <see cref="Apply"/> may be called inside.
    /// </summary>
    public T Locked<T>(Func<T> action)
    {
        lock (_apply) return action();
    }

    public void Locked(Action action)
    {
        lock (_apply) action();
    }

    /// <summary>
    /// Cluster Mesh from <see cref="RunOptions.ClusterMeshFile"/>: the node is published under its first
    /// InternalIP (IPv4 preferred), the suffix of its identity keys as in Cilium. Forwarding starts on the local
    /// config at once; the mesh's contribution follows as soon as etcd answers.
    /// </summary>
    internal void JoinMesh(ConfigModel merged)
    {
        var config = Dataplane.ClusterMesh.Config.ClusterMeshConfigLoader.LoadFile(_options.ClusterMeshFile);
        var ips = merged.LocalNode.InternalIps;
        var nodeIp = ips.FirstOrDefault(i => i.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? ips.FirstOrDefault()
            ?? throw new ConfigException(config.Source, $"clustermesh: node {merged.Local.Name} has no InternalIP to publish");
        _mesh = new MeshLink(config, merged.Local.Name, nodeIp, RefreshMesh, _log);
        _mesh.ModelChanged(merged);
        _log.WriteLine($"agent: clustermesh: cluster {config.Cluster} (id {config.ClusterId}), {config.RemoteClusters.Count} remote cluster(s), from {_options.ClusterMeshFile}");
    }

    /// <summary>The mesh captured a new state: recompile with it (files and what the host merges unchanged).</summary>
    private void RefreshMesh()
    {
        lock (_apply)
        {
            try
            {
                Apply(null, fromMesh: true);
                _log.WriteLine($"agent: clustermesh state {_mesh!.Good.Version} applied: generation {Generation}");
            }
            catch (ConfigException e)
            {
                ReportError(e.Message);
            }
            _log.Flush();
        }
    }

    /// <summary>Re-reads the directory; a file that does not validate is reported and changes nothing.</summary>
    public void ReloadFiles()
    {
        lock (_apply)
        {
            try
            {
                var files = _profile.Load(_options.ConfigDir);
                Apply(_profile.Extend(files), files);
                _log.WriteLine($"agent: config reloaded: generation {Generation}, {_snapshot.Endpoints.Count(e => e is not null)} endpoint(s)");
                foreach (var skipped in files.Skipped) _log.WriteLine($"agent: {skipped}");
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

    /// <summary>Kept as the status's last config error and logged; the configuration in force stays.</summary>
    public void ReportError(string message)
    {
        _lastError = new ConfigErrorStatus(message, DateTimeOffset.UtcNow);
        _log.WriteLine($"agent: config error, keeping generation {Generation}: {message}");
    }

    /// <summary>
    /// Compiles <paramref name="merged"/> (null: the running files extended as the host does now) against the
    /// running snapshot and puts it in force; throws <see cref="ConfigException"/> and changes nothing when it does
    /// not compile or the backend cannot run it. <paramref name="files"/>, when given, becomes <see cref="Files"/>.
    /// </summary>
    public void Apply(ConfigModel? merged, ConfigModel? files = null, bool fromMesh = false) => ApplyModel(merged, files, fromMesh, fromBgp: false);

    /// <summary><paramref name="fromBgp"/>: only the learned routes changed, which BGP's own plan does not read, so
    /// the speakers are not handed the model again (a full table arriving would re-plan them at every batch).</summary>
    private void ApplyModel(ConfigModel? merged, ConfigModel? files, bool fromMesh, bool fromBgp)
    {
        lock (_apply)
        {
            merged ??= _profile.Extend(files ?? _files);
            merged = merged with { LearnedRoutes = _profile.AcceptLearned(merged, _learned) };
            if ((Encryption is not null) != merged.Local.Encryption.Enabled)
                throw new ConfigException(merged.Local.Encryption.Source, "encryption.enabled changed: restart the agent to turn encryption on or off");
            if (Encryption is not null) merged = Encryption.Annotate(merged);
            var next = _mesh is { } mesh
                ? mesh.Compile(merged, Generation + 1, _snapshot)
                : SnapshotCompiler.Compile(merged, Generation + 1, _snapshot);
            // The backend takes it first: if it cannot, nothing of this change is applied anywhere.
            PacketIo.Prepare(next);
            Interlocked.Increment(ref _generation);
            Volatile.Write(ref _snapshot, next);
            if (files is not null) Volatile.Write(ref _files, files);
            _applied = DateTimeOffset.UtcNow;
            PacketIo.Adopt(next);
            ReportHostFirewall();
            // A swap the mesh caused publishes nothing new; one from files or the host's additions does.
            if (!fromMesh) _mesh?.ModelChanged(merged);
            if (!fromBgp) Bgp?.ModelApplied(merged);
        }
    }

    private string? _hostFirewall;

    /// <summary>
    /// Logs what the host firewall enforces with this backend whenever that changes (a host policy came or went,
    /// an interface's program was refused): a backend that cannot enforce host policies says so here and in the
    /// status, never silently.
    /// </summary>
    internal void ReportHostFirewall()
    {
        string? now = PacketIo.HostFirewall(Snapshot);
        if (now == _hostFirewall) return;
        _log.WriteLine(now is null ? "agent: host firewall: off (no host policy selects this node)" : $"agent: host firewall: {now}");
        _hostFirewall = now;
    }

    /// <summary>BGP selected other routes: recompile with them (files and what the host merges unchanged).</summary>
    /// <param name="merged">How long the speakers' selection took to merge into <paramref name="routes"/> (logged).</param>
    internal void ApplyLearnedRoutes(System.Collections.Immutable.ImmutableArray<LearnedRouteSpec> routes, TimeSpan merged = default)
    {
        lock (_apply)
        {
            var before = _learned;
            _learned = routes;
            try
            {
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                ApplyModel(null, null, fromMesh: false, fromBgp: true);
                _log.WriteLine($"agent: bgp: {routes.Length} learned route(s) applied: generation {Generation} (merged from the RIB in {merged.TotalMilliseconds:F0} ms, compiled and swapped in {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms)");
            }
            catch (ConfigException e)
            {
                _learned = before;
                ReportError(e.Message);
            }
            _log.Flush();
        }
    }

    /// <summary>Once a second: interfaces that came or went are attached or let go by the backend.</summary>
    internal void PollInterfaces()
    {
        lock (_apply)
        {
            try { PacketIo.Poll(_snapshot); }
            catch (ConfigException e)
            {
                // Retried every second while the interfaces differ: reported once per distinct error, not each time.
                if (_lastError?.Message != e.Message) ReportError(e.Message);
            }
        }
    }

    internal ClusterMeshStatus? MeshStatus() => _mesh?.Status();

    public AgentStatus Status()
    {
        List<PortStatus> ports;
        lock (_apply) ports = PacketIo.PortStatus(Snapshot);
        return StatusReport.Build(this, ports);
    }

    /// <summary>After the lifecycle ended: the backend and what it holds.</summary>
    public void Dispose() => PacketIo.Dispose();
}
