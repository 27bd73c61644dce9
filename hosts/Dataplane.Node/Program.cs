using System.CommandLine;
using Dataplane.Core.Config;
using Dataplane.Node.Replay;

// dataplane-node: the node host. Verbs: replay (offline pcap through the real pipeline).
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
return root.Parse(args).Invoke();
