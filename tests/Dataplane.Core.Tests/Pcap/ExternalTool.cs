namespace Dataplane.Core.Tests.Pcap;

/// <summary>
/// Runs Wireshark/tcpdump command-line tools as an independent judge of our files. A missing tool makes the test
/// SKIPPED with the reason (and .ci/run, which installs them, fails on such a skip): the check only means
/// something if it actually runs.
/// </summary>
internal static class ExternalTool
{
    public static string Require(string name)
    {
        Requires.Tools(name);
        return Sh.Which(name)!;
    }

    /// <summary>Runs the tool and returns stdout; a non-zero exit fails the test with stderr.</summary>
    public static string Run(string name, params string[] args)
    {
        var (exit, stdout, stderr) = Sh.Run(TimeSpan.FromSeconds(60), Require(name), args);
        Assert.True(exit == 0, $"{name} {string.Join(' ', args)} exited {exit}: {stderr}");
        return stdout;
    }

    public static string TempPath(string suffix) =>
        Path.Combine(Path.GetTempPath(), $"dataplane-{Environment.ProcessId}-{Guid.NewGuid():N}{suffix}");
}
