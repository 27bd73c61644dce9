using System.CommandLine;
using Dataplane.Gateway.Agent;
using Dataplane.Host.Agent;
using Dataplane.Host.Run;

namespace Dataplane.Gateway.Run;

/// <summary>
/// `dataplane-gateway run --config DIR [--clustermesh FILE] [--state-dir DIR]`: the gateway agent on the host runtime,
/// with every option `dataplane-node run` has. A gateway has no CNI registrations to keep; its state directory holds
/// only its WireGuard key when encryption is on (as a node's does).
/// </summary>
public static class RunVerb
{
    public static Command Create()
    {
        var common = new RunCommandLine();
        var stateDirOpt = new Option<string>("--state-dir") { Description = "Where the gateway's WireGuard key is kept (spec.encryption on)", DefaultValueFactory = _ => RunOptions.DefaultStateDir };
        var run = new Command("run", "The gateway agent: forward between the on-prem networks and the mesh (overlay), run BGP toward the on-prem routers, follow the config directory, serve the local API; until SIGTERM/SIGINT");
        common.AddTo(run, stateDirOpt);
        run.SetAction(parse => RunCommandLine.Invoke(() =>
            AgentLifecycle.Run(new GatewayProfile(), common.Read(parse) with { StateDir = parse.GetValue(stateDirOpt)! }, Console.Out, CancellationToken.None)));
        return run;
    }
}
