using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Api;
using Dataplane.Host.Backends;
using Dataplane.Host.Backends.Dpdk;
using Dataplane.Host.Backends.Lanes;
using Dataplane.Host.Observe;
using Dataplane.Host.Run;
using Dataplane.Linux;

namespace Dataplane.Host.Agent;

/// <summary>
/// A host's `run` from start to exit: load and compile the directory, create the backend, join Cluster Mesh and BGP,
/// start forwarding and the services (flow export, metrics, the local API), then follow the directory — a change
/// is debounced, validated, compiled and swapped in by <see cref="HostAgent"/>, interfaces are polled once a
/// second — until SIGTERM/SIGINT or the caller's token; then stop in order and print the exit counters.
/// </summary>
public static class AgentLifecycle
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(200), PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Runs the agent until SIGTERM/SIGINT or <paramref name="stop"/>. Exit code: 0, or 1 when a worker failed.
    /// Whatever stops the start, before the first packet is forwarded, is a <see cref="StartupFailure"/> with its
    /// own exit code (<see cref="RunExit"/>), thrown with nothing left attached or locked.
    /// </summary>
    public static int Run(HostProfile profile, RunOptions options, TextWriter log, CancellationToken stop)
    {
        using var wake = new Wakeup();
        Prepared? ready = null;
        try
        {
            ready = Prepare(profile, options, log, wake);
            return Serve(ready.Agent, ready.Watcher, wake, stop);
        }
        finally
        {
            ready?.Dispose();
        }
    }

    /// <summary>Everything up to forwarding, in the order that lets each failure leave nothing behind.</summary>
    private static Prepared Prepare(HostProfile profile, RunOptions options, TextWriter log, Wakeup wake)
    {
        if (!Directory.Exists(options.ConfigDir))
            throw new StartupFailure(RunExit.Config, $"--config {options.ConfigDir}", "no such directory");
        var watcher = new ConfigDirWatcher(options.ConfigDir, wake.Changed);
        AgentLocks? locks = null;
        HostAgent? agent = null;
        Encryption.NodeEncryption? encryption = null;
        try
        {
            DatapathSnapshot snapshot;
            ConfigModel files, merged;
            try
            {
                files = profile.Load(options.ConfigDir);
                profile.Starting(files, log);
                merged = profile.Extend(files);
                encryption = StartEncryption(files, options, log);
                if (encryption is not null) merged = encryption.Annotate(merged);
                snapshot = SnapshotCompiler.Compile(merged, 1);
            }
            catch (ConfigException e)
            {
                throw new StartupFailure(RunExit.Config, $"--config {options.ConfigDir}", e.Message);
            }
            // What can be checked without taking anything, before the locks (whose files would stay behind).
            StartupChecks.ApiSocket(options.SocketPath);
            ConntrackHome.Verify(options);
            // DPDK's ports are the EAL's devices (a PCI NIC bound to vfio has no kernel interface): its EAL checks them.
            if (options.PacketIo.Name != DpdkBackend.Id) StartupChecks.Interfaces(snapshot, NetDevice.Exists);
            StartupChecks.MetricsPort(options.MetricsAddress, options.MetricsPort);
            // Before anything is attached: a second agent on these interfaces or this socket stops here.
            try { locks = AgentLocks.Acquire(snapshot.Ports.Select(p => p.Name), options.SocketPath); }
            catch (AgentConflictException e) { throw new StartupFailure(RunExit.Conflict, e.What, e.Why); }
            IPacketBackend backend;
            try { backend = BackendCatalog.Create(options, snapshot, log, encryption); }
            catch (Exception e) when (e is not (StartupFailure or ConfigException))
            {
                throw new StartupFailure(RunExit.Backend, $"--backend {options.PacketIo.Name}", e.Message);
            }
            agent = new HostAgent(profile, options, log, files, snapshot, backend) { Encryption = encryption };
            encryption = null;   // the backend owns it now
            profile.Attached(agent);
            if (options.ClusterMeshFile.Length > 0) agent.JoinMesh(merged);
            agent.Bgp = new Bgp.BgpAgent(agent, log);
            agent.Bgp.ModelApplied(merged);
            return new Prepared(watcher, locks, agent);
        }
        catch (Exception e)
        {
            encryption?.Dispose();
            agent?.Dispose();
            locks?.Dispose();
            watcher.Dispose();
            if (e is StartupFailure) throw;
            if (e is ConfigException ce) throw new StartupFailure(RunExit.Config, "--clustermesh " + options.ClusterMeshFile, ce.Message);
            // Nothing forwards yet: whatever else refused the start is still one line, not a trace.
            throw new StartupFailure(RunExit.Failed, "start-up", $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>
    /// Cilium's WireGuard mode: the node's key from its state directory (made on the first start), the device it
    /// keys, and the public key in the log. Null when <c>spec.encryption.enabled</c> is not set.
    /// </summary>
    private static Encryption.NodeEncryption? StartEncryption(ConfigModel files, RunOptions options, TextWriter log)
    {
        if (!files.Local.Encryption.Enabled) return null;
        if (options.PacketIo.Name == Backends.Ebpf.EbpfBackend.Id)
            throw new StartupFailure(RunExit.Backend, "--backend ebpf", "encryption (WireGuard) runs in the C# lanes: use af_packet, af_xdp or dpdk");
        string? rekeyAfter = Environment.GetEnvironmentVariable(Encryption.NodeEncryption.RekeyAfterEnvironment);
        Dataplane.WireGuard.Peers.WireGuardTimers timers;
        try { timers = Encryption.NodeEncryption.Timers(rekeyAfter); }
        catch (ArgumentException x) { throw new StartupFailure(RunExit.Failed, $"{Encryption.NodeEncryption.RekeyAfterEnvironment}={rekeyAfter}", x.Message); }
        Encryption.NodeEncryption e;
        try { e = Encryption.NodeEncryption.Start(options.StateDir, timers); }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new StartupFailure(RunExit.StateDir, $"--state-dir {options.StateDir}", x.Message);
        }
        log.WriteLine($"agent: encryption: wireguard, public key {e.PublicKey} (key file {e.KeyFile}), UDP {Dataplane.Core.Encryption.EncryptionPlan.CiliumPort}"
            + (files.Local.Encryption.StrictMode ? ", strict mode" : "")
            + (string.IsNullOrEmpty(rekeyAfter) ? "" : $", rekey after {timers.RekeyAfterTime.TotalSeconds:0} s ({Encryption.NodeEncryption.RekeyAfterEnvironment}, for tests)"));
        return e;
    }

    /// <summary>What a started agent holds until it exits, released in reverse order.</summary>
    private sealed record Prepared(ConfigDirWatcher Watcher, AgentLocks Locks, HostAgent Agent) : IDisposable
    {
        public void Dispose()
        {
            Agent.Dispose();
            Locks.Dispose();
            Watcher.Dispose();
        }
    }

    /// <summary>Wakes the loop: a file event (dirty, to be debounced) or a stop.</summary>
    private sealed class Wakeup : IDisposable
    {
        private volatile bool _dirty, _reload;
        public AutoResetEvent Event { get; } = new(false);
        public void Changed()
        {
            _dirty = true;
            Event.Set();
        }
        public void Set() => Event.Set();
        /// <summary>SIGHUP: reload the directory whether or not a change was seen.</summary>
        public void Reload()
        {
            _reload = true;
            Event.Set();
        }
        public bool TakeReload()
        {
            if (!_reload) return false;
            _reload = false;
            return true;
        }
        public bool WaitOne(TimeSpan t) => Event.WaitOne(t);
        public bool TakeDirty()
        {
            if (!_dirty) return false;
            _dirty = false;
            return true;
        }
        public void Dispose() => Event.Dispose();
    }

    /// <summary>The Observer API on --hubble-socket and/or --hubble-listen-address; a refused listen stops the start.</summary>
    private static Hubble.HubbleServer StartHubble(HostAgent agent, Hubble.FlowRecords records, Hubble.FlowHistory history)
    {
        var options = agent.Options;
        string address = options.HubbleListenAddress.Length > 0 ? options.HubbleListenAddress : "unix://" + options.HubbleSocket;
        var node = new Hubble.NodeView(() => $"{records.ClusterName}/{agent.Snapshot.NodeName}", records.ClusterName, address,
            () => agent.Snapshot.Endpoints.Where(e => e is not null).Select(e => e!.Namespace));
        Hubble.HubbleServer server;
        try { server = Hubble.HubbleServer.Start(new Hubble.ObserverService(history, node), options.HubbleSocket, options.HubbleListenAddress, options.HubbleTls); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or System.Net.Sockets.SocketException)
        {
            throw new StartupFailure(RunExit.ApiSocket, $"--hubble-socket {options.HubbleSocket} --hubble-listen-address {options.HubbleListenAddress}", e.Message);
        }
        agent.Log.WriteLine($"agent: Hubble Observer API on {string.Join(", ", new[] { options.HubbleSocket.Length > 0 ? "unix:" + options.HubbleSocket : null, options.HubbleListenAddress.Length > 0 ? "tcp:" + options.HubbleListenAddress + TlsNote(options.HubbleTls) : null }.OfType<string>())}");
        return server;
    }

    private static string TlsNote(Hubble.HubbleTls? tls) =>
        tls is null ? "" : $" (TLS as {tls.Subject}{(tls.MutualTls ? ", client certificates required" : "")})";

    /// <summary>The IPFIX exporting process when --ipfix-collector was given; a socket the system refuses stops the start.</summary>
    private static Ipfix.IpfixExporter? StartIpfix(HostAgent agent)
    {
        if (agent.Options.Ipfix is not { } o) return null;
        Ipfix.IpfixExporter ipfix;
        try { ipfix = new Ipfix.IpfixExporter(o); }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new StartupFailure(RunExit.Config, $"--ipfix-collector {o.Collector}", e.Message);
        }
        agent.Log.WriteLine($"agent: IPFIX export to udp:{o.Collector} (active timeout {o.ActiveTimeoutSeconds}s, idle timeout {o.IdleTimeoutSeconds}s, observation domain {o.ObservationDomainId}, identities under PEN {o.EnterpriseNumber})");
        return ipfix;
    }

    private static int Serve(HostAgent agent, ConfigDirWatcher watcher, Wakeup wake, CancellationToken stop)
    {
        var options = agent.Options;
        var log = agent.Log;
        var backend = agent.PacketIo;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var signals = new Signals(() => { cts.Cancel(); wake.Set(); }, () => CounterReport.Print(log, "stats", agent), wake.Reload, log);

        agent.Locked(() => backend.Start(agent.Snapshot, cts));
        agent.Mesh?.Start();
        agent.Bgp?.Start();
        log.WriteLine($"run: forwarding on {backend.DescribeForwarding()}; SIGUSR1 prints counters, SIGHUP reloads, SIGTERM stops");
        log.WriteLine($"agent: generation {agent.Generation}, {agent.Snapshot.Endpoints.Count(e => e is not null)} endpoint(s); watching {options.ConfigDir}");
        foreach (var skipped in agent.Files.Skipped) log.WriteLine($"agent: {skipped}");
        agent.Locked(agent.ReportHostFirewall);

        ApiServer? api = null;
        FlowExporter? flows = null;
        Hubble.HubbleServer? hubble = null;
        MetricsEndpoint? metrics = null;
        bool stopped;
        try
        {
            // Hubble's flow metrics are counted as the exporter builds flows: the registry exists before it.
            var registry = options.MetricsPort > 0 ? Prometheus.Metrics.NewCustomRegistry() : null;
            if (options.FlowEvents)
            {
                var records = new Hubble.FlowRecords(agent.Mesh?.Config.Cluster ?? "", options.L7);
                var history = options.HubbleEnabled ? new Hubble.FlowHistory(options.HubbleBufferCapacity) : null;
                var ipfix = StartIpfix(agent);
                flows = new FlowExporter([.. backend.FlowRings, options.L7.Flows], () => agent.Snapshot, records, options.FlowsFile, history, dropRate: options.FlowsDropRate,
                    metrics: registry is null ? null : new Hubble.HubbleMetrics(registry), ipfix: ipfix, traceEvents: options.TraceEvents, dropEvents: options.DropEvents);
                agent.Flows = flows;
                if (options.FlowsFile.Length > 0)
                {
                    agent.FlowsFile = flows.Path;
                    log.WriteLine($"agent: flow events to {flows.Path}" + (flows.LastError is { } err ? $" (not writable now, retried every second: {err})" : ""));
                }
                if (history is not null) hubble = StartHubble(agent, records, history);
            }
            if (options.MetricsPort > 0)
            {
                _ = new CiliumMetrics(registry!, () => CounterReport.Sample(agent));
                // Probed before forwarding (StartupChecks); should the port be taken since, still one line, not a trace.
                try { metrics = new MetricsEndpoint(options.MetricsAddress, options.MetricsPort, registry!); }
                catch (Exception e) when (e is System.Net.HttpListenerException or System.Net.Sockets.SocketException or IOException)
                {
                    throw new StartupFailure(RunExit.Metrics, $"--metrics-address {options.MetricsAddress} --metrics-port {options.MetricsPort}", e.Message);
                }
                agent.MetricsUrl = metrics.Url;
                log.WriteLine($"agent: metrics on {metrics.Url}");
            }
            if (options.SocketPath.Length > 0)
            {
                try { api = ApiServer.Start(agent, options.SocketPath); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
                {
                    throw new StartupFailure(RunExit.ApiSocket, $"--socket {options.SocketPath}", e.Message);
                }
                log.WriteLine($"agent: API on unix:{options.SocketPath}");
            }
            log.Flush();

            var nextStats = options.StatsIntervalSeconds > 0 ? DateTime.UtcNow.AddSeconds(options.StatsIntervalSeconds) : DateTime.MaxValue;
            while (!cts.IsCancellationRequested)
            {
                wake.WaitOne(PollInterval);
                if (cts.IsCancellationRequested) break;
                if (wake.TakeDirty())
                {
                    // Debounce: an editor or `kubectl cp` writes a file in several steps.
                    while (wake.WaitOne(Debounce) && !cts.IsCancellationRequested) { }
                }
                bool hangup = wake.TakeReload();
                if (hangup) log.WriteLine($"agent: SIGHUP: reloading {options.ConfigDir}");
                if (watcher.TakeChange() | hangup) agent.ReloadFiles();
                agent.PollInterfaces();
                if (DateTime.UtcNow >= nextStats)
                {
                    CounterReport.Print(log, "stats", agent);
                    nextStats = DateTime.UtcNow.AddSeconds(options.StatsIntervalSeconds);
                }
            }
        }
        finally
        {
            // BGP first, while the node still forwards: peers withdraw our routes before traffic to them would be lost.
            agent.Bgp?.StopAsync().GetAwaiter().GetResult();
            // The mesh next: its loop may be recompiling, which waits for the workers to adopt the result.
            agent.Mesh?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            // Also when the API cannot start: no worker may outlive this method (its sockets are disposed after it).
            cts.Cancel();
            api?.Dispose();
            hubble?.Dispose();
            metrics?.Dispose();
            // Workers joined (ebpf: the ring buffer's last events drained) before the exporter writes its last events.
            stopped = backend.Stop();
            flows?.Dispose();
        }
        CounterReport.Print(log, "exit", agent);
        backend.PrintExit(log);
        if (!stopped) return 1;
        if (backend.Failure is { } failure)
        {
            log.WriteLine($"run: worker failed: {failure}");
            return 1;
        }
        return 0;
    }
}
