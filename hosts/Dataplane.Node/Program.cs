using System.CommandLine;
using Dataplane.Control.Config;
using Dataplane.Core.Ports;
using Dataplane.Node.Api;
using Dataplane.Node.Replay;
using Dataplane.Node.Run;
using Dataplane.Linux.AfXdp;

// dataplane-node: the node host. Verbs: replay (offline pcap through the real pipeline), run (the node agent), status (ask the agent).
var root = new RootCommand("Dataplane node: userspace packet dataplane with Cilium semantics");

var configOpt = new Option<DirectoryInfo>("--config") { Description = "Directory of YAML (Node, Pod, DataplaneNode …)", Required = true };
var inOpt = new Option<FileInfo>("--in") { Description = "Input capture (pcap or pcapng, Ethernet)", Required = true };
var outOpt = new Option<FileInfo>("--out") { Description = "Output pcap: what the dataplane would transmit", Required = true };
var flowsOpt = new Option<FileInfo?>("--flows") { Description = "One Hubble-style JSON flow record per input packet" };
var replay = new Command("replay", "Push every packet of a capture through the pipeline and write what would be sent")
{
    configOpt, inOpt, outOpt, flowsOpt,
};
replay.SetAction(parse =>
{
    try
    {
        Replayer.Run(parse.GetValue(configOpt)!.FullName, parse.GetValue(inOpt)!.FullName,
            parse.GetValue(outOpt)!.FullName, parse.GetValue(flowsOpt)?.FullName, Console.Out);
        return 0;
    }
    catch (ConfigException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
});
root.Subcommands.Add(replay);

var runConfigOpt = new Option<DirectoryInfo>("--config") { Description = "Directory of YAML (Node, Pod, DataplaneNode …)", Required = true };
var backendOpt = new Option<string>("--backend") { Description = "Packet I/O backend", DefaultValueFactory = _ => "af_packet" };
backendOpt.AcceptOnlyFromAmong("af_packet", "af_xdp", "dpdk", "ebpf");
var dpdkArgsOpt = new Option<string?>("--dpdk-args") { Description = "dpdk: EAL arguments, e.g. \"--vdev net_af_packet0,iface=eth1\" (defaults: --no-huge -m 256 without free hugepages, an af_packet vdev per interface nothing else serves)" };
var sleepOpt = new Option<int>("--poll-sleep-us") { Description = "adaptive: longest wait on the sockets per empty poll in microseconds (0 = busy poll in every mode)", DefaultValueFactory = _ => 50 };
var pollModeOpt = new Option<string>("--poll-mode") { Description = "How workers wait for packets: interrupt (block on the sockets, coalesce while traffic lasts, busy under full batches: least CPU), adaptive (spin, then short waits), busy (a whole core)", DefaultValueFactory = _ => "interrupt" };
pollModeOpt.AcceptOnlyFromAmong("interrupt", "adaptive", "busy");
var coalesceOpt = new Option<int>("--poll-coalesce-us") { Description = "interrupt: sleep between polls while traffic lasts, so a wake-up takes a batch (adds up to this much latency); default af_xdp 50, af_packet 0 (its block timeout coalesces)", DefaultValueFactory = _ => -1 };
var statsOpt = new Option<int>("--stats-interval") { Description = "Print counters every N seconds (0 = only on SIGUSR1 and exit)", DefaultValueFactory = _ => 0 };
var xdpModeOpt = new Option<string>("--xdp-mode") { Description = "af_xdp, ebpf: attach the XDP program natively, generically, or native with generic fallback (ebpf: generic on veths)", DefaultValueFactory = _ => "auto" };
xdpModeOpt.AcceptOnlyFromAmong("auto", "native", "generic");
var queuesOpt = new Option<int>("--queues") { Description = "Queues per interface, one worker thread each", DefaultValueFactory = _ => 1 };
var ctMaxOpt = new Option<int>("--ct-max") { Description = "Connections tracked per worker (a full table drops new connections with CT_MAP_INSERTION_FAILED)", DefaultValueFactory = _ => RunOptions.DefaultConntrackFlows };
var socketOpt = new Option<string>("--socket") { Description = "The agent's API socket (unix); empty = no API", DefaultValueFactory = _ => AgentSocket.DefaultPath };
var stateDirOpt = new Option<string>("--state-dir") { Description = "Where endpoints registered by the CNI plugin are kept across restarts", DefaultValueFactory = _ => RunOptions.DefaultStateDir };
var pollSpinOpt = new Option<int>("--poll-spin") { Description = "adaptive: empty polls spun through before waiting on the sockets (0 = wait at once)", DefaultValueFactory = _ => 256 };
var flowsFileOpt = new Option<string>("--flows-file") { Description = "Write every packet's flow event as a hubble JSON line to this file, rotated at 10 MB (5 backups); read it with `observe`", DefaultValueFactory = _ => "" };
var metricsPortOpt = new Option<int>("--metrics-port") { Description = "Serve Prometheus metrics (Cilium's names) on this TCP port; 0 = off", DefaultValueFactory = _ => 0 };
var metricsAddressOpt = new Option<string>("--metrics-address") { Description = "Address the metrics endpoint listens on", DefaultValueFactory = _ => "127.0.0.1" };
var bpfPinOpt = new Option<string>("--bpf-pin-dir") { Description = "ebpf: bpffs directory the maps are pinned in and reused from after a restart; empty = no pinning", DefaultValueFactory = _ => RunOptions.DefaultBpfPinDir };
var ebpfHookOpt = new Option<string>("--ebpf-hook") { Description = "ebpf: attach point: xdp (default) or tc (tcx ingress links, pinned in --bpf-pin-dir so they outlive the agent; without one they end with it)", DefaultValueFactory = _ => "xdp" };
ebpfHookOpt.AcceptOnlyFromAmong("xdp", "tc");
var bpfDetachOpt = new Option<bool>("--bpf-detach-on-exit") { Description = "ebpf: on exit detach the XDP program and remove the pinned maps (default: leave them, so forwarding continues while the agent is down)" };
var clusterMeshOpt = new Option<string>("--clustermesh") { Description = "A ClusterMeshConfig (dataplane.io/v1alpha1) file: join this cluster's etcd and watch the remote clusters'", DefaultValueFactory = _ => "" };
var run = new Command("run", "The node agent: forward between the node's and its pods' interfaces, follow the config directory and the CNI plugin's endpoints, serve the local API; until SIGTERM/SIGINT")
{
    runConfigOpt, backendOpt, sleepOpt, statsOpt, xdpModeOpt, queuesOpt, ctMaxOpt, socketOpt, stateDirOpt,
    flowsFileOpt, metricsPortOpt, metricsAddressOpt, dpdkArgsOpt, pollSpinOpt, bpfPinOpt, bpfDetachOpt, ebpfHookOpt, pollModeOpt, coalesceOpt, clusterMeshOpt,
};
run.SetAction(parse =>
{
    try
    {
        var backend = parse.GetValue(backendOpt) switch { "af_xdp" => Backend.AfXdp, "dpdk" => Backend.Dpdk, "ebpf" => Backend.Ebpf, _ => Backend.AfPacket };
        return Runner.Run(new RunOptions(parse.GetValue(runConfigOpt)!.FullName, backend,
            Math.Max(0, parse.GetValue(sleepOpt)), Math.Max(0, parse.GetValue(statsOpt)),
            parse.GetValue(xdpModeOpt) switch { "native" => XdpAttachMode.Native, "generic" => XdpAttachMode.Generic, _ => XdpAttachMode.Auto },
            Math.Clamp(parse.GetValue(queuesOpt), 1, 64), Math.Clamp(parse.GetValue(ctMaxOpt), 1, 1 << 26))
        {
            SocketPath = parse.GetValue(socketOpt) ?? "",
            StateDir = parse.GetValue(stateDirOpt)!,
            FlowsFile = parse.GetValue(flowsFileOpt) is { Length: > 0 } ff ? Path.GetFullPath(ff) : "",
            MetricsPort = Math.Clamp(parse.GetValue(metricsPortOpt), 0, 65535),
            MetricsAddress = parse.GetValue(metricsAddressOpt)!,
            DpdkArgs = parse.GetValue(dpdkArgsOpt),
            PollSpin = Math.Clamp(parse.GetValue(pollSpinOpt), 0, 1 << 20),
            BpfPinDir = parse.GetValue(bpfPinOpt) ?? "",
            BpfDetachOnExit = parse.GetValue(bpfDetachOpt),
            EbpfHook = parse.GetValue(ebpfHookOpt) == "tc" ? Dataplane.Ebpf.Loader.BpfHook.Tc : Dataplane.Ebpf.Loader.BpfHook.Xdp,
            PollMode = parse.GetValue(pollModeOpt) switch { "busy" => PollMode.Busy, "adaptive" => PollMode.Adaptive, _ => PollMode.Interrupt },
            PollCoalesceMicros = Math.Clamp(parse.GetValue(coalesceOpt), -1, 1_000_000),
            ClusterMeshFile = parse.GetValue(clusterMeshOpt) is { Length: > 0 } cm ? Path.GetFullPath(cm) : "",
        }, Console.Out);
    }
    catch (ConfigException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    catch (Exception e) when (e is Dataplane.Linux.Interop.LinuxException or Dataplane.Dpdk.DpdkException or PlatformNotSupportedException or IOException or UnauthorizedAccessException
        or Dataplane.Ebpf.Loader.EbpfLoadException or Dataplane.Ebpf.Loader.EbpfMapException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
});
root.Subcommands.Add(run);
var inputFileOpt = new Option<string?>("--input-file") { Description = "Read flows from this file of hubble JSON lines (replay --flows, run --flows-file); '-' for stdin; default: the running agent's flow file" };
var observeSocketOpt = new Option<string>("--socket") { Description = "The agent's API socket (to find its flow file)", DefaultValueFactory = _ => AgentSocket.DefaultPath };
var verdictOpt = new Option<string?>("--verdict") { Description = "Show only flows with this verdict (FORWARDED, DROPPED)" };
var podOpt = new Option<string?>("--pod") { Description = "Show only flows from or to this pod: NAMESPACE/NAME, NAME (default namespace) or NAMESPACE/" };
var flowOutputOpt = new Option<string>("--output", "-o") { Description = "json (hubble observe -o json lines) or compact (one readable line per flow)", DefaultValueFactory = _ => "compact" };
flowOutputOpt.AcceptOnlyFromAmong("json", "compact");
var followOpt = new Option<bool>("--follow", "-f") { Description = "Keep waiting for new flows at the end of the input until interrupted" };
var observe = new Command("observe", "Show flow events (Hubble's JSON format) filtered by verdict and pod")
{
    inputFileOpt, verdictOpt, podOpt, flowOutputOpt, followOpt, observeSocketOpt,
};
observe.SetAction(parse =>
{
    string? path = parse.GetValue(inputFileOpt) ?? Dataplane.Node.Observe.AgentFlows.FileOf(parse.GetValue(observeSocketOpt)!, Console.Error);
    if (path is null) return 1;
    var filter = Dataplane.Node.Observe.FlowFilter.Create(parse.GetValue(verdictOpt), parse.GetValue(podOpt));
    using var cts = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
    try
    {
        using TextReader input = path == "-" ? Console.In : new Dataplane.Node.Observe.TailReader(path);
        Dataplane.Node.Observe.FlowPrinter.Copy(input, Console.Out, Console.Error, filter,
            parse.GetValue(flowOutputOpt) == "json", parse.GetValue(followOpt), cts.Token);
        return 0;
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
});
root.Subcommands.Add(observe);

var statusSocketOpt = new Option<string>("--socket") { Description = "The agent's API socket", DefaultValueFactory = _ => AgentSocket.DefaultPath };
var outputOpt = new Option<string>("--output", "-o") { Description = "table or json", DefaultValueFactory = _ => "table" };
outputOpt.AcceptOnlyFromAmong("table", "json");
var status = new Command("status", "Ask the running agent: backend, interfaces, endpoints, generation, conntrack, drops, last config error")
{
    statusSocketOpt, outputOpt,
};
status.SetAction(parse => StatusCommand.Run(parse.GetValue(statusSocketOpt)!, parse.GetValue(outputOpt) == "json", Console.Out, Console.Error));
root.Subcommands.Add(status);
var keepOpt = new Option<bool>("--keep") { Description = "Leave the lab running for exploration (it prints how to remove it)" };
var destroyOpt = new Option<string?>("--destroy") { Description = "Remove a kept lab by its id" };
var lab = new Command("lab", "Build two nodes with pods in network namespaces (VXLAN overlay, a ClusterIP service, an allow and a deny policy), send real traffic, show verdicts and counters, clean up")
{
    keepOpt, destroyOpt,
};
lab.SetAction(parse =>
{
    if (parse.GetValue(destroyOpt) is { Length: > 0 } id)
    {
        bool found = Dataplane.Node.Lab.LabTopology.Destroy(id);
        Console.WriteLine(found ? $"lab {id}: removed" : $"lab {id}: nothing to remove");
        return 0;
    }
    return Dataplane.Node.Lab.LabRunner.Run(parse.GetValue(keepOpt), Console.Out);
});
root.Subcommands.Add(lab);
return root.Parse(args).Invoke();
