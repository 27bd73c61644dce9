using System.Diagnostics;

namespace Dataplane.Core.Tests.Pcap;

/// <summary>
/// Runs Wireshark/tcpdump command-line tools as an independent judge of our files. A missing tool fails the
/// test with instructions instead of skipping it: the check only means something if it actually runs.
/// </summary>
internal static class ExternalTool
{
    public static string Require(string name)
    {
        string[] dirs = [.. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries), "/usr/bin", "/usr/sbin"];
        foreach (string dir in dirs)
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        Assert.Fail($"'{name}' was not found on PATH or in /usr/bin, /usr/sbin. This independent pcap check needs it: " +
                    "install it (Debian: apt-get install tshark tcpdump; CI installs them) rather than skipping the test.");
        return name;
    }

    /// <summary>Runs the tool and returns stdout; a non-zero exit fails the test with stderr.</summary>
    public static string Run(string name, params string[] args)
    {
        var psi = new ProcessStartInfo(Require(name))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using Process process = Process.Start(psi)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            Assert.Fail($"{name} {string.Join(' ', args)} did not finish within 60 s");
        }
        Assert.True(process.ExitCode == 0, $"{name} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}");
        return stdout;
    }

    public static string TempPath(string suffix) =>
        Path.Combine(Path.GetTempPath(), $"dataplane-{Environment.ProcessId}-{Guid.NewGuid():N}{suffix}");
}
