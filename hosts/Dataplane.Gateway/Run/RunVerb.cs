using System.CommandLine;
using Dataplane.Gateway.Agent;
using Dataplane.Host.Agent;
using Dataplane.Host.Run;

namespace Dataplane.Gateway.Run;

/// <summary>
/// `dataplane-gateway run --config DIR [--clustermesh FILE]`: the gateway agent on the host runtime, with every
/// option `dataplane-node run` has but --state-dir (a gateway has no CNI registrations to keep).
/// </summary>
public static class RunVerb
{
    public static Command Create()
    {
        var common = new RunCommandLine();
        var run = new Command("run", "The gateway agent: forward between the on-prem networks and the mesh (overlay), run BGP toward the on-prem routers, follow the config directory, serve the local API; until SIGTERM/SIGINT");
        common.AddTo(run);
        run.SetAction(parse => RunCommandLine.Invoke(() =>
            AgentLifecycle.Run(new GatewayProfile(), common.Read(parse), Console.Out, CancellationToken.None)));
        return run;
    }
}
