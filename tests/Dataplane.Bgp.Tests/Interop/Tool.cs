using System.Diagnostics;

namespace Dataplane.Bgp.Tests.Interop;

/// <summary>Runs external commands with a bounded wait; a command that hangs is killed with its children.</summary>
internal static class Tool
{
    public static (int Code, string Out, string Err) Run(string file, params string[] args) => Run(TimeSpan.FromSeconds(20), file, args);

    public static (int Code, string Out, string Err) Run(TimeSpan timeout, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout.TotalSeconds}s");
        }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs and requires exit code 0.</summary>
    public static string Check(string file, params string[] args)
    {
        var (code, o, e) = Run(file, args);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}: {e}{o}");
        return o;
    }

    /// <summary>Starts a long-running process with output to <paramref name="logFile"/>.</summary>
    public static Process Start(string logFile, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var log = new StreamWriter(logFile) { AutoFlush = true };
        var gate = new Lock();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static void Kill(Process? p)
    {
        if (p is null) return;
        try
        {
            if (!p.HasExited)
            {
                Run("kill", "-CONT", p.Id.ToString()); // a frozen process cannot die gracefully
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        p.Dispose();
    }

    public static bool Exists(string name) => Run("sh", "-c", $"command -v {name}").Code == 0;
}
