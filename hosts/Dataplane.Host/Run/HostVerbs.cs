using System.CommandLine;
using Dataplane.Host.Api;
using Dataplane.Host.Observe;

namespace Dataplane.Host.Run;

/// <summary>The verbs every host has besides `run`: `validate` (offline), and asking a running agent, `status` and `observe`.</summary>
public static class HostVerbs
{
    /// <summary>`validate DIR`: what a user runs in CI over their manifests. Exit 0 when the agent would apply them, 1 when not.</summary>
    public static Command Validate(Agent.HostProfile profile)
    {
        var dirArg = new Argument<DirectoryInfo>("DIR") { Description = "The config directory, as given to run --config" };
        var validate = new Command("validate", "Read a config directory as run would: each file, what was read, what was skipped, every error (file:line:column)")
        {
            dirArg,
        };
        validate.SetAction(parse =>
        {
            var report = profile.Check(parse.GetValue(dirArg)!.FullName);
            report.Print(Console.Out);
            return report.Ok ? 0 : 1;
        });
        return validate;
    }

    /// <summary>`status [--socket PATH] [-o table|json]`.</summary>
    public static Command Status()
    {
        var socketOpt = new Option<string>("--socket") { Description = "The agent's API socket", DefaultValueFactory = _ => AgentSocket.DefaultPath };
        var outputOpt = new Option<string>("--output", "-o") { Description = "table or json", DefaultValueFactory = _ => "table" };
        outputOpt.AcceptOnlyFromAmong("table", "json");
        var status = new Command("status", "Ask the running agent: backend, interfaces, endpoints, generation, conntrack, drops, last config error")
        {
            socketOpt, outputOpt,
        };
        status.SetAction(parse => StatusCommand.Run(parse.GetValue(socketOpt)!, parse.GetValue(outputOpt) == "json", Console.Out, Console.Error));
        return status;
    }

    /// <summary>`observe` with hubble's flags (see <see cref="ObserveCommand"/>).</summary>
    public static Command Observe() => ObserveCommand.Create();
}
