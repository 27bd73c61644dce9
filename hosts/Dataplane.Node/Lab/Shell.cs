using System.Diagnostics;
using System.Text;

namespace Dataplane.Node.Lab;

/// <summary>Runs the host's tools (ip, ping, sysctl) for the lab, each bounded in time; output captured.</summary>
public static class Shell
{
    public sealed record Result(int ExitCode, string Output)
    {
        public bool Ok => ExitCode == 0;
    }

    public static Result Run(TimeSpan timeout, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new LabException($"{file} is not installed: {e.Message}"); }
        using (p)
        {
            var output = new StringBuilder();
            p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            if (!p.WaitForExit(timeout))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit();
                lock (output) return new Result(-1, output + $"(timed out after {timeout.TotalSeconds:0} s)");
            }
            p.WaitForExit();
            lock (output) return new Result(p.ExitCode, output.ToString());
        }
    }

    public static Result Run(string file, params string[] args) => Run(TimeSpan.FromSeconds(20), file, args);

    /// <summary>Runs and throws <see cref="LabException"/> with the command and its output when it fails.</summary>
    public static string Must(string file, params string[] args)
    {
        var r = Run(file, args);
        if (!r.Ok) throw new LabException($"{file} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Output.Trim()}");
        return r.Output;
    }

    public static bool Has(string tool) =>
        Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, tool)));
}

/// <summary>A lab step that could not be carried out (missing tool, not root, a command that failed).</summary>
public sealed class LabException(string message) : Exception(message);
