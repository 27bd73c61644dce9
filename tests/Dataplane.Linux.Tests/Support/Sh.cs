using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Linux.Tests.Support;

/// <summary>Runs commands with a bound on their time; a command that overruns is killed with its tree.</summary>
public static partial class Sh
{
    public sealed record Result(int ExitCode, string Output)
    {
        public bool Ok => ExitCode == 0;
    }

    public static Result Run(TimeSpan timeout, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(5000);
            lock (output) return new Result(-1, output + $"[timed out after {timeout.TotalSeconds} s: {file} {string.Join(' ', args)}]");
        }
        p.WaitForExit();
        lock (output) return new Result(p.ExitCode, output.ToString());
    }

    public static Result Run(string file, params string[] args) => Run(TimeSpan.FromSeconds(20), file, args);

    /// <summary>Runs and fails loudly: setup commands must work.</summary>
    public static string Must(string file, params string[] args)
    {
        var r = Run(file, args);
        if (!r.Ok) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {r.ExitCode}: {r.Output}");
        return r.Output;
    }

    public static bool IsRoot => geteuid() == 0;

    public static bool Has(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    public const int SIGTERM = 15;
    public const int SIGUSR1 = 10;
}

/// <summary>A long-running child (the forwarder, a server) whose output is collected; disposed = killed with its tree.</summary>
public sealed class Background : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _out = new();

    public Background(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        _p = Process.Start(psi)!;
        _p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_out) _out.AppendLine(e.Data); };
        _p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_out) _out.AppendLine(e.Data); };
        _p.BeginOutputReadLine(); _p.BeginErrorReadLine();
    }

    public int Pid => _p.Id;
    public bool HasExited => _p.HasExited;
    public int ExitCode => _p.ExitCode;

    public string Output { get { lock (_out) return _out.ToString(); } }

    /// <summary>Waits until the output contains <paramref name="text"/>, the process exits, or the time is up.</summary>
    public bool WaitFor(string text, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (Output.Contains(text, StringComparison.Ordinal)) return true;
            if (_p.HasExited) { _p.WaitForExit(); return Output.Contains(text, StringComparison.Ordinal); }
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>SIGTERM, then a bounded wait; false when it had to be killed.</summary>
    public bool Stop(TimeSpan timeout)
    {
        if (_p.HasExited) { _p.WaitForExit(); return true; }
        Sh.kill(_p.Id, Sh.SIGTERM);
        if (_p.WaitForExit(timeout)) { _p.WaitForExit(); return true; }
        Dispose();
        return false;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_p.HasExited) _p.Kill(entireProcessTree: true);
            _p.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }
}
