using System.CommandLine;
using Dataplane.Control.Config;
using Dataplane.Core.Ports;
using Dataplane.Ebpf.Loader;
using Dataplane.Host.Api;
using Dataplane.Host.Backends;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Host.Run;

/// <summary>
/// The options of `run` every host has (config directory, backend and its knobs, polling, API socket, flows,
/// metrics, Cluster Mesh), their parsing into <see cref="RunOptions"/>, and the exit codes `run` answers with.
/// A host adds its own options to the same command.
/// </summary>
public sealed class RunCommandLine
{
    private readonly Option<DirectoryInfo> _config = new("--config") { Description = "Directory of YAML (Node, Pod, DataplaneNode …)", Required = true };
    private readonly Option<string> _backend = new("--backend") { Description = "Packet I/O backend", DefaultValueFactory = _ => BackendCatalog.Default };
    private readonly Option<string?> _dpdkArgs = new("--dpdk-args") { Description = "dpdk: EAL arguments, e.g. \"--vdev net_af_packet0,iface=eth1\" (defaults: --no-huge -m 256 without free hugepages, an af_packet vdev per interface nothing else serves)" };
    private readonly Option<int> _sleep = new("--poll-sleep-us") { Description = "adaptive: longest wait on the sockets per empty poll in microseconds (0 = busy poll in every mode)", DefaultValueFactory = _ => 50 };
    private readonly Option<string> _pollMode = new("--poll-mode") { Description = "How workers wait for packets: interrupt (block on the sockets, coalesce while traffic lasts, busy under full batches: least CPU), adaptive (spin, then short waits), busy (a whole core)", DefaultValueFactory = _ => "interrupt" };
    private readonly Option<int> _coalesce = new("--poll-coalesce-us") { Description = "interrupt: sleep between polls while traffic lasts, so a wake-up takes a batch (adds up to this much latency); default af_xdp 50, af_packet 0 (its block timeout coalesces)", DefaultValueFactory = _ => -1 };
    private readonly Option<int> _stats = new("--stats-interval") { Description = "Print counters every N seconds (0 = only on SIGUSR1 and exit)", DefaultValueFactory = _ => 0 };
    private readonly Option<string> _xdpMode = new("--xdp-mode") { Description = "af_xdp, ebpf: attach the XDP program natively, generically, or native with generic fallback (ebpf: generic on veths)", DefaultValueFactory = _ => "auto" };
    private readonly Option<int> _queues = new("--queues") { Description = "Queues per interface, one worker thread each", DefaultValueFactory = _ => 1 };
    private readonly Option<int> _ctMax = new("--ct-max") { Description = "Connections tracked per worker (a full table drops new connections with CT_MAP_INSERTION_FAILED)", DefaultValueFactory = _ => RunOptions.DefaultConntrackFlows };
    private readonly Option<string?> _ctDir = new("--ct-dir") { Description = $"Directory on a tmpfs holding each worker's conntrack table, so connections survive an agent restart (default {RunOptions.DefaultConntrackDir} when on a tmpfs); \"\" = memory only" };
    private readonly Option<string> _socket = new("--socket") { Description = "The agent's API socket (unix); empty = no API", DefaultValueFactory = _ => AgentSocket.DefaultPath };
    private readonly Option<int> _pollSpin = new("--poll-spin") { Description = "adaptive: empty polls spun through before waiting on the sockets (0 = wait at once)", DefaultValueFactory = _ => 256 };
    private readonly Option<string> _flowsFile = new("--flows-file") { Description = "Write every packet's flow event as a hubble JSON line to this file, rotated at 10 MB (5 backups); read it with `observe`", DefaultValueFactory = _ => "" };
    private readonly Option<int> _flowsDropRate = new("--flows-drop-rate") { Description = "Dropped-packet flow events written per second at most (burst: one second's worth); the rest are counted as rate-limited; 0 = no limit", DefaultValueFactory = _ => Observe.FlowExporter.DefaultDropRate };
    private readonly Option<string> _hubbleSocket = new("--hubble-socket") { Description = "Serve Hubble's Observer gRPC API (GetFlows, ServerStatus, GetNodes) on this unix socket, e.g. /run/dataplane/hubble.sock (Cilium's: /var/run/cilium/hubble.sock); empty = off", DefaultValueFactory = _ => "" };
    private readonly Option<string> _hubbleListen = new("--hubble-listen-address") { Description = "Also serve the Observer API on this TCP ADDRESS:PORT (Cilium's port: 4244), without TLS; empty = off", DefaultValueFactory = _ => "" };
    private readonly Option<bool> _traceEvents = new("--bpf-events-trace-enabled") { Description = "Record flows of forwarded packets (Cilium's trace events); false = drops only, for Hubble and the flow file: the workers skip the rest (with --ipfix-collector they record all, IPFIX counts every packet)", DefaultValueFactory = _ => true };
    private readonly Option<bool> _dropEvents = new("--bpf-events-drop-enabled") { Description = "Record flows of dropped packets (Cilium's drop events)", DefaultValueFactory = _ => true };
    private readonly Option<string> _hubbleTlsCert = new("--hubble-tls-cert-file") { Description = "TLS on --hubble-listen-address: the server's certificate (PEM), with --hubble-tls-key-file", DefaultValueFactory = _ => "" };
    private readonly Option<string> _hubbleTlsKey = new("--hubble-tls-key-file") { Description = "TLS on --hubble-listen-address: the server certificate's private key (PEM)", DefaultValueFactory = _ => "" };
    private readonly Option<string[]> _hubbleTlsClientCas = new("--hubble-tls-client-ca-files") { Description = "Mutual TLS: CA certificates (PEM) a client's certificate must chain to; clients without one are refused", AllowMultipleArgumentsPerToken = true };
    private readonly Option<int> _hubbleCapacity = new("--hubble-buffer-capacity") { Description = "Flows the Observer keeps for GetFlows to read back (Hubble's ring)", DefaultValueFactory = _ => Hubble.FlowHistory.DefaultCapacity };
    private readonly Option<string> _ipfixCollector = new("--ipfix-collector") { Description = "Export flows as IPFIX (RFC 7011) over UDP to this collector, HOST[:PORT] (port 4739 by default), e.g. nfcapd's; empty = off", DefaultValueFactory = _ => "" };
    private readonly Option<string?> _ipfixActive = new("--ipfix-active-timeout") { Description = $"IPFIX: a flow still active is reported every this many seconds (default {Ipfix.IpfixOptions.DefaultActiveTimeout})" };
    private readonly Option<string?> _ipfixIdle = new("--ipfix-idle-timeout") { Description = $"IPFIX: a flow idle this many seconds is reported and forgotten (default {Ipfix.IpfixOptions.DefaultIdleTimeout})" };
    private readonly Option<string?> _ipfixDomain = new("--ipfix-observation-domain-id") { Description = "IPFIX: the observation domain ID in the message headers (default 1)" };
    private readonly Option<string?> _ipfixPen = new("--ipfix-enterprise-number") { Description = $"IPFIX: the Private Enterprise Number the Cilium identity elements are defined under (default {Ipfix.IpfixOptions.DefaultEnterpriseNumber}, RFC 5612's documentation PEN)" };
    private readonly Option<int> _metricsPort = new("--metrics-port") { Description = "Serve Prometheus metrics (Cilium's names) on this TCP port; 0 = off", DefaultValueFactory = _ => 0 };
    private readonly Option<string> _metricsAddress = new("--metrics-address") { Description = "Address the metrics endpoint listens on", DefaultValueFactory = _ => "127.0.0.1" };
    private readonly Option<string> _bpfPin = new("--bpf-pin-dir") { Description = "ebpf: bpffs directory the maps are pinned in and reused from after a restart; empty = no pinning", DefaultValueFactory = _ => BackendOptions.DefaultBpfPinDir };
    private readonly Option<string> _bpfHook = new("--ebpf-hook") { Description = "ebpf: attach point: xdp (default) or tc (tcx ingress links, pinned in --bpf-pin-dir so they outlive the agent; without one they end with it)", DefaultValueFactory = _ => "xdp" };
    private readonly Option<bool> _bpfDetach = new("--bpf-detach-on-exit") { Description = "ebpf: on exit detach the XDP program and remove the pinned maps (default: leave them, so forwarding continues while the agent is down)" };
    private readonly Option<string> _clusterMesh = new("--clustermesh") { Description = "A ClusterMeshConfig (dataplane.io/v1alpha1) file: join this cluster's etcd and watch the remote clusters'", DefaultValueFactory = _ => "" };

    public RunCommandLine()
    {
        _backend.AcceptOnlyFromAmong([.. BackendCatalog.Names]);
        _pollMode.AcceptOnlyFromAmong("interrupt", "adaptive", "busy");
        _xdpMode.AcceptOnlyFromAmong("auto", "native", "generic");
        _bpfHook.AcceptOnlyFromAmong("xdp", "tc");
    }

    /// <summary>Adds the common options to <paramref name="run"/>, the host's own (<paramref name="hostOptions"/>) after --socket.</summary>
    public void AddTo(Command run, params Option[] hostOptions)
    {
        foreach (var o in new Option[] { _config, _backend, _sleep, _stats, _xdpMode, _queues, _ctMax, _ctDir, _socket })
            run.Options.Add(o);
        foreach (var o in hostOptions) run.Options.Add(o);
        foreach (var o in new Option[] { _flowsFile, _flowsDropRate, _hubbleSocket, _hubbleListen, _hubbleTlsCert, _hubbleTlsKey, _hubbleTlsClientCas, _hubbleCapacity, _traceEvents, _dropEvents, _ipfixCollector, _ipfixActive, _ipfixIdle, _ipfixDomain, _ipfixPen, _metricsPort, _metricsAddress, _dpdkArgs, _pollSpin, _bpfPin, _bpfDetach, _bpfHook,
            _pollMode, _coalesce, _clusterMesh })
            run.Options.Add(o);
    }

    /// <summary>What the command line asked for (values clamped to their ranges).</summary>
    public RunOptions Read(ParseResult parse)
    {
        var io = new BackendOptions(parse.GetValue(_backend)!)
        {
            XdpMode = parse.GetValue(_xdpMode) switch { "native" => XdpAttachMode.Native, "generic" => XdpAttachMode.Generic, _ => XdpAttachMode.Auto },
            DpdkArgs = parse.GetValue(_dpdkArgs),
            BpfPinDir = parse.GetValue(_bpfPin) ?? "",
            BpfDetachOnExit = parse.GetValue(_bpfDetach),
            EbpfHook = parse.GetValue(_bpfHook) == "tc" ? BpfHook.Tc : BpfHook.Xdp,
        };
        return new RunOptions(parse.GetValue(_config)!.FullName, io,
            Math.Max(0, parse.GetValue(_sleep)), Math.Max(0, parse.GetValue(_stats)),
            Math.Clamp(parse.GetValue(_queues), 1, 64), Math.Clamp(parse.GetValue(_ctMax), 1, 1 << 26))
        {
            SocketPath = parse.GetValue(_socket) ?? "",
            FlowsFile = parse.GetValue(_flowsFile) is { Length: > 0 } ff ? Path.GetFullPath(ff) : "",
            FlowsDropRate = Math.Clamp(parse.GetValue(_flowsDropRate), 0, 100_000_000),
            HubbleSocket = parse.GetValue(_hubbleSocket) is { Length: > 0 } hs ? Path.GetFullPath(hs) : "",
            HubbleListenAddress = parse.GetValue(_hubbleListen) ?? "",
            HubbleBufferCapacity = Math.Clamp(parse.GetValue(_hubbleCapacity), 1, 1 << 20),
            MetricsPort = Math.Clamp(parse.GetValue(_metricsPort), 0, 65535),
            MetricsAddress = parse.GetValue(_metricsAddress)!,
            PollSpin = Math.Clamp(parse.GetValue(_pollSpin), 0, 1 << 20),
            PollMode = parse.GetValue(_pollMode) switch { "busy" => PollMode.Busy, "adaptive" => PollMode.Adaptive, _ => PollMode.Interrupt },
            PollCoalesceMicros = Math.Clamp(parse.GetValue(_coalesce), -1, 1_000_000),
            ClusterMeshFile = parse.GetValue(_clusterMesh) is { Length: > 0 } cm ? Path.GetFullPath(cm) : "",
            ConntrackDir = parse.GetValue(_ctDir) is { } ct ? (ct.Length > 0 ? Path.GetFullPath(ct) : "") : RunOptions.DefaultConntrackDir,
            ConntrackDirGiven = parse.GetValue(_ctDir) is not null,
            Ipfix = ReadIpfix(parse),
            HubbleTls = ReadHubbleTls(parse),
            TraceEvents = parse.GetValue(_traceEvents),
            DropEvents = parse.GetValue(_dropEvents),
        };
    }

    /// <summary>TLS for the Observer's TCP listener, or null; files that cannot be used, or TLS flags without what they need, stop the start naming the flag.</summary>
    private Hubble.HubbleTls? ReadHubbleTls(ParseResult parse)
    {
        string cert = parse.GetValue(_hubbleTlsCert) ?? "", key = parse.GetValue(_hubbleTlsKey) ?? "";
        string[] cas = parse.GetValue(_hubbleTlsClientCas) ?? [];
        if (cert.Length == 0 && key.Length == 0)
        {
            if (cas.Length > 0) throw new StartupFailure(RunExit.Config, "--hubble-tls-client-ca-files", "needs --hubble-tls-cert-file and --hubble-tls-key-file (mutual TLS is TLS first)");
            return null;
        }
        if (cert.Length == 0 || key.Length == 0)
            throw new StartupFailure(RunExit.Config, cert.Length == 0 ? "--hubble-tls-key-file" : "--hubble-tls-cert-file",
                "needs " + (cert.Length == 0 ? "--hubble-tls-cert-file" : "--hubble-tls-key-file") + " too");
        if ((parse.GetValue(_hubbleListen) ?? "").Length == 0)
            throw new StartupFailure(RunExit.Config, "--hubble-tls-cert-file", "TLS is for the TCP listener: give --hubble-listen-address ADDRESS:PORT (the unix socket is never TLS, as Cilium's)");
        try { return Hubble.HubbleTls.Load(cert, key, cas); }
        catch (FormatException e) { throw new StartupFailure(RunExit.Config, "hubble TLS", e.Message); }
    }

    /// <summary>The IPFIX options, or null without --ipfix-collector; a malformed value, or a knob without a collector, stops the start with a line that names it.</summary>
    private Ipfix.IpfixOptions? ReadIpfix(ParseResult parse)
    {
        string collector = parse.GetValue(_ipfixCollector) ?? "";
        string? active = parse.GetValue(_ipfixActive), idle = parse.GetValue(_ipfixIdle), domain = parse.GetValue(_ipfixDomain), pen = parse.GetValue(_ipfixPen);
        if (collector.Length == 0)
        {
            string? knob = active is not null ? "--ipfix-active-timeout" : idle is not null ? "--ipfix-idle-timeout"
                : domain is not null ? "--ipfix-observation-domain-id" : pen is not null ? "--ipfix-enterprise-number" : null;
            if (knob is not null) throw new StartupFailure(RunExit.Config, knob, "needs --ipfix-collector HOST[:PORT] (IPFIX export is off without it)");
            return null;
        }
        string flag = "--ipfix-collector";
        try
        {
            var endpoint = Ipfix.IpfixOptions.ParseCollector(collector);
            flag = "--ipfix-active-timeout";
            int activeSeconds = active is null ? Ipfix.IpfixOptions.DefaultActiveTimeout : Ipfix.IpfixOptions.ParseSeconds(active, 1, 86400);
            flag = "--ipfix-idle-timeout";
            int idleSeconds = idle is null ? Ipfix.IpfixOptions.DefaultIdleTimeout : Ipfix.IpfixOptions.ParseSeconds(idle, 1, 86400);
            flag = "--ipfix-observation-domain-id";
            uint domainId = domain is null ? 1 : uint.TryParse(domain, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out uint d) ? d
                : throw new FormatException($"'{domain}' is not an unsigned 32-bit number");
            flag = "--ipfix-enterprise-number";
            uint enterprise = pen is null ? Ipfix.IpfixOptions.DefaultEnterpriseNumber
                : uint.TryParse(pen, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out uint e) && e > 0 ? e
                : throw new FormatException($"'{pen}' is not a Private Enterprise Number (1-4294967295)");
            return new Ipfix.IpfixOptions(endpoint, activeSeconds, idleSeconds, domainId, enterprise);
        }
        catch (FormatException e)
        {
            throw new StartupFailure(RunExit.Config, flag, e.Message);
        }
    }

    /// <summary>
    /// Runs <paramref name="run"/> and maps what it throws to `run`'s exit codes (<see cref="RunExit"/>): a
    /// <see cref="StartupFailure"/> — anything that stopped the start before forwarding — as one line
    /// <c>PROGRAM: WHAT: WHY</c> on stderr and its code; what the system refused later, one line and 1.
    /// </summary>
    public static int Invoke(Func<int> run)
    {
        string program = AppDomain.CurrentDomain.FriendlyName;
        try
        {
            return run();
        }
        catch (StartupFailure e)
        {
            Console.Error.WriteLine(e.Line(program));
            return e.ExitCode;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine(StartupFailure.OneLine($"{program}: config: {e.Message}"));
            return RunExit.Config;
        }
        catch (Exception e) when (e is Dataplane.Linux.Interop.LinuxException or Dataplane.Dpdk.DpdkException or PlatformNotSupportedException or IOException or UnauthorizedAccessException
            or EbpfLoadException or EbpfMapException)
        {
            Console.Error.WriteLine(StartupFailure.OneLine($"{program}: {e.Message}"));
            return RunExit.Failed;
        }
    }
}
