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

    /// <summary>`observe [--input-file F] [--verdict V] [--pod P] [-o json|compact] [-f] [--socket PATH]`.</summary>
    public static Command Observe()
    {
        var inputFileOpt = new Option<string?>("--input-file") { Description = "Read flows from this file of hubble JSON lines (replay --flows, run --flows-file); '-' for stdin; default: the running agent's flow file" };
        var socketOpt = new Option<string>("--socket") { Description = "The agent's API socket (to find its flow file)", DefaultValueFactory = _ => AgentSocket.DefaultPath };
        var verdictOpt = new Option<string?>("--verdict") { Description = "Show only flows with this verdict (FORWARDED, DROPPED, AUDIT)" };
        var podOpt = new Option<string?>("--pod") { Description = "Show only flows from or to this pod: NAMESPACE/NAME, NAME (default namespace) or NAMESPACE/" };
        var outputOpt = new Option<string>("--output", "-o") { Description = "json (hubble observe -o json lines) or compact (one readable line per flow)", DefaultValueFactory = _ => "compact" };
        outputOpt.AcceptOnlyFromAmong("json", "compact");
        var followOpt = new Option<bool>("--follow", "-f") { Description = "Keep waiting for new flows at the end of the input until interrupted" };
        var observe = new Command("observe", "Show flow events (Hubble's JSON format) filtered by verdict and pod")
        {
            inputFileOpt, verdictOpt, podOpt, outputOpt, followOpt, socketOpt,
        };
        observe.SetAction(parse =>
        {
            string? path = parse.GetValue(inputFileOpt) ?? AgentFlows.FileOf(parse.GetValue(socketOpt)!, Console.Error);
            if (path is null) return 1;
            var filter = FlowFilter.Create(parse.GetValue(verdictOpt), parse.GetValue(podOpt));
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            try
            {
                using TextReader input = path == "-" ? Console.In : new TailReader(path);
                FlowPrinter.Copy(input, Console.Out, Console.Error, filter, parse.GetValue(outputOpt) == "json", parse.GetValue(followOpt), cts.Token);
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return observe;
    }
}
