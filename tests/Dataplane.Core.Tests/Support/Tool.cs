using System.Diagnostics;

namespace Dataplane.Core.Tests.Support;

/// <summary>Runs an external program (tshark, scapy via python3, our own binary) with a time bound.</summary>
public static class Tool
{
    /// <summary>Debian's python3, which has python3-scapy (not a pyenv shim that lacks it).</summary>
    public const string Python = "/usr/bin/python3";

    public static (int Exit, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, int timeoutMs = 60_000)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{file} is not installed (CI installs it via .ci/run): {e.Message}");
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutMs))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"{file} did not finish in {timeoutMs} ms");
            }
            return (p.ExitCode, stdout.Result, stderr.Result);
        }
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Dataplane.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    /// <summary>A fresh directory under /tmp, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("dataplane-test-").FullName;
        public string this[string name] => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
    }
}
