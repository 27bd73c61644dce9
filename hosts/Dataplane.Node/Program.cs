using System.CommandLine;
using Dataplane.Control.Config;
using Dataplane.Host.Run;
using Dataplane.Node.Replay;
using Dataplane.Node.Run;

// dataplane-node: the node host, a thin program over the host runtime (hosts/Dataplane.Host). Verbs: run (the node
// agent), validate (a config directory, offline), status and observe (ask the agent), replay (offline pcap through the real pipeline), lab (the embedded demo).
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
root.Subcommands.Add(RunVerb.Create());
root.Subcommands.Add(HostVerbs.Observe());
root.Subcommands.Add(Dataplane.Host.Hubble.RelayCommand.Create());
root.Subcommands.Add(HostVerbs.Status());
root.Subcommands.Add(HostVerbs.Validate(new Dataplane.Host.Agent.HostProfile()));   // the node reads the loader's kinds

var keepOpt = new Option<bool>("--keep") { Description = "Leave the lab running for exploration (it prints how to remove it)" };
var destroyOpt = new Option<string?>("--destroy") { Description = "Remove a kept lab by its id" };
var meshOpt = new Option<bool>("--mesh") { Description = "Add the mesh: a dataplane-gateway, BIRD as the on-prem router and a VM behind it reaching the pods through a portal VIP learned by BGP, under a policy naming the VM's labels (needs bird2)" };
var lab = new Command("lab", "Build two nodes with pods in network namespaces (VXLAN overlay, a ClusterIP service, an allow and a deny policy), send real traffic, show verdicts and counters, clean up")
{
    keepOpt, destroyOpt, meshOpt,
};
lab.SetAction(parse =>
{
    if (parse.GetValue(destroyOpt) is { Length: > 0 } id)
    {
        bool found = Dataplane.Node.Lab.LabTopology.Destroy(id);
        Console.WriteLine(found ? $"lab {id}: removed" : $"lab {id}: nothing to remove");
        return 0;
    }
    return Dataplane.Node.Lab.LabRunner.Run(parse.GetValue(keepOpt), parse.GetValue(meshOpt), Console.Out);
});
root.Subcommands.Add(lab);
return root.Parse(args).Invoke();
