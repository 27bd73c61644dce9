using System.CommandLine;
using Dataplane.Host.Agent;
using Dataplane.Host.Run;
using Dataplane.Node.Agent;

namespace Dataplane.Node.Run;

/// <summary>
/// `dataplane-node run`: the node agent on the host runtime — the common run options plus --state-dir, where the
/// endpoints the CNI plugin registered are kept across restarts.
/// </summary>
public static class RunVerb
{
    public static Command Create()
    {
        var common = new RunCommandLine();
        var stateDirOpt = new Option<string>("--state-dir") { Description = "Where endpoints registered by the CNI plugin are kept across restarts", DefaultValueFactory = _ => RunOptions.DefaultStateDir };
        var minTtlOpt = new Option<int>("--tofqdns-min-ttl") { Description = "toFQDNs: the least time, in seconds, an address a DNS answer carried stays allowed (a shorter TTL is raised to it), as Cilium's flag", DefaultValueFactory = _ => (int)Core.L7.FqdnCache.DefaultMinTtl.TotalSeconds };
        var run = new Command("run", "The node agent: forward between the node's and its pods' interfaces, follow the config directory and the CNI plugin's endpoints, serve the local API; until SIGTERM/SIGINT");
        common.AddTo(run, stateDirOpt, minTtlOpt);
        run.SetAction(parse => RunCommandLine.Invoke(() =>
        {
            var options = common.Read(parse) with { StateDir = parse.GetValue(stateDirOpt)! };
            // The endpoint store opens (and restores from) it as the profile is made: checked first, exit 7.
            StartupChecks.WritableDirectory("--state-dir", options.StateDir, RunExit.StateDir);
            var profile = new NodeProfile(options.StateDir, Console.Out, options.L7,
                TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(minTtlOpt), 0, 7 * 24 * 3600)));
            try { return AgentLifecycle.Run(profile, options, Console.Out, CancellationToken.None); }
            finally { profile.L7?.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        }));
        return run;
    }
}
