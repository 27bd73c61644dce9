using System.CommandLine;
using Dataplane.Core.Config;
using Dataplane.Node.Replay;
using Dataplane.Node.Run;
using Dataplane.Linux.AfXdp;

// dataplane-node: the node host. Verbs: replay (offline pcap through the real pipeline), run (forward on interfaces).
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
backendOpt.AcceptOnlyFromAmong("af_packet", "af_xdp", "dpdk");
var sleepOpt = new Option<int>("--poll-sleep-us") { Description = "Idle sleep between polls in microseconds (0 = busy poll)", DefaultValueFactory = _ => 50 };
var statsOpt = new Option<int>("--stats-interval") { Description = "Print counters every N seconds (0 = only on SIGUSR1 and exit)", DefaultValueFactory = _ => 0 };
var xdpModeOpt = new Option<string>("--xdp-mode") { Description = "af_xdp: attach the XDP program natively, generically, or native with generic fallback", DefaultValueFactory = _ => "auto" };
xdpModeOpt.AcceptOnlyFromAmong("auto", "native", "generic");
var queuesOpt = new Option<int>("--queues") { Description = "Queues per interface, one worker thread each", DefaultValueFactory = _ => 1 };
var dpdkArgsOpt = new Option<string?>("--dpdk-args") { Description = "dpdk: EAL arguments, e.g. \"--vdev net_af_packet0,iface=eth1\" (defaults: --no-huge -m 256 without free hugepages, an af_packet vdev per interface nothing else serves)" };
var ctMaxOpt = new Option<int>("--ct-max") { Description = "Connections tracked per worker (a full table drops new connections with CT_MAP_INSERTION_FAILED)", DefaultValueFactory = _ => RunOptions.DefaultConntrackFlows };
var run = new Command("run", "Forward packets between the configured interfaces until SIGTERM/SIGINT, then print counters")
{
    runConfigOpt, backendOpt, sleepOpt, statsOpt, xdpModeOpt, queuesOpt, ctMaxOpt, dpdkArgsOpt,
};
run.SetAction(parse =>
{
    try
    {
        var backend = parse.GetValue(backendOpt) switch { "af_xdp" => Backend.AfXdp, "dpdk" => Backend.Dpdk, _ => Backend.AfPacket };
        return Runner.Run(new RunOptions(parse.GetValue(runConfigOpt)!.FullName, backend,
            Math.Max(0, parse.GetValue(sleepOpt)), Math.Max(0, parse.GetValue(statsOpt)),
            parse.GetValue(xdpModeOpt) switch { "native" => XdpAttachMode.Native, "generic" => XdpAttachMode.Generic, _ => XdpAttachMode.Auto },
            Math.Clamp(parse.GetValue(queuesOpt), 1, 64), Math.Clamp(parse.GetValue(ctMaxOpt), 1, 1 << 26), parse.GetValue(dpdkArgsOpt)), Console.Out);
    }
    catch (ConfigException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 2;
    }
    catch (Exception e) when (e is Dataplane.Linux.Interop.LinuxException or Dataplane.Dpdk.DpdkException or PlatformNotSupportedException or IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
});
root.Subcommands.Add(run);
return root.Parse(args).Invoke();
