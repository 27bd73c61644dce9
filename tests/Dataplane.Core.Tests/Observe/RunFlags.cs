using System.CommandLine;
using Dataplane.Host.Run;

namespace Dataplane.Core.Tests.Observe;

/// <summary>`run`'s common flags parsed as the hosts parse them, for tests of what they refuse.</summary>
internal static class RunFlags
{
    /// <summary>The start-up failure <paramref name="args"/> (after a --config) stop `run` with; fails when they parse into options.</summary>
    public static StartupFailure Refusal(params string[] args)
    {
        var common = new RunCommandLine();
        var run = new Command("run");
        common.AddTo(run);
        var parse = run.Parse(["--config", Path.GetTempPath(), .. args]);
        Assert.Empty(parse.Errors);
        return Assert.Throws<StartupFailure>(() => common.Read(parse));
    }
}
