using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dataplane.Testing.Processes;

/// <summary>
/// The one process runner of the tests: every command runs with a bound on its time (one that overruns is killed
/// with its tree), its stdout and stderr are kept apart and also interleaved as they came, and a program that is
/// not installed is a clear error naming it.
/// </summary>
public static partial class Sh
{
    /// <summary>What a command did. <see cref="Output"/> is stdout and stderr in the order they were written.</summary>
    public sealed record Result(int ExitCode, string Stdout, string Stderr, string Output)
    {
        public bool Ok => ExitCode == 0;
        public bool TimedOut { get; init; }

        public void Deconstruct(out int exitCode, out string stdout, out string stderr) =>
            (exitCode, stdout, stderr) = (ExitCode, Stdout, Stderr);
    }

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Debian's python3, which has python3-scapy (not a pyenv shim that lacks it).</summary>
    public const string Python = "/usr/bin/python3";

    public static Result Run(string file, params string[] args) => Run(DefaultTimeout, file, args);

    public static Result Run(TimeSpan timeout, string file, params string[] args) => Run(timeout, file, args, stdin: null, env: null);

    /// <summary>Runs with optional <paramref name="stdin"/> text and extra environment variables.</summary>
    public static Result Run(TimeSpan timeout, string file, IEnumerable<string> args, string? stdin, IReadOnlyDictionary<string, string>? env = null)
    {
        string[] argv = [.. args];
        using var p = Start(file, argv, redirectStdin: stdin != null, env);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) { stdout.AppendLine(e.Data); output.AppendLine(e.Data); } };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) { stderr.AppendLine(e.Data); output.AppendLine(e.Data); } };
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        if (stdin != null)
        {
            try { p.StandardInput.Write(stdin); p.StandardInput.Close(); }
            catch (IOException) { /* it exited without reading: its exit code says why */ }
        }
        if (!p.WaitForExit(timeout))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(5000);
            string note = $"[timed out after {timeout.TotalSeconds} s: {file} {string.Join(' ', argv)}]";
            lock (output) return new Result(-1, stdout.ToString(), stderr + note, output + note) { TimedOut = true };
        }
        p.WaitForExit(); // drains the asynchronous readers
        lock (output) return new Result(p.ExitCode, stdout.ToString(), stderr.ToString(), output.ToString());
    }

    /// <summary>Runs and fails loudly: set-up commands must work. Returns stdout and stderr interleaved.</summary>
    public static string Must(string file, params string[] args) => Must(DefaultTimeout, file, args);

    public static string Must(TimeSpan timeout, string file, params string[] args)
    {
        var r = Run(timeout, file, args);
        if (!r.Ok) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {r.ExitCode}: {r.Output}");
        return r.Output;
    }

    /// <summary>Starts <paramref name="file"/> with redirected output; a program that is not installed says so.</summary>
    internal static Process Start(string file, string[] args, bool redirectStdin, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = redirectStdin, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null) foreach (var (k, v) in env) psi.Environment[k] = v;
        try { return Process.Start(psi)!; }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{file} could not be started ({e.Message}); is it installed? `./dev test` and .ci/run install what the tests need", e);
        }
    }

    public static bool IsRoot => geteuid() == 0;

    /// <summary>Whether <paramref name="tool"/> is an executable on PATH (or in /usr/sbin, /sbin).</summary>
    public static bool Has(string tool) => Which(tool) != null;

    /// <summary>The full path of <paramref name="tool"/> on PATH (or in /usr/sbin, /sbin), or null.</summary>
    public static string? Which(string tool)
    {
        if (tool.Contains('/')) return File.Exists(tool) ? tool : null;
        string[] dirs = [.. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries), "/usr/sbin", "/sbin"];
        foreach (var d in dirs)
        {
            string candidate = Path.Combine(d, tool);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The repository's root (where Dataplane.sln is), found from the test binaries upwards.</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Dataplane.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
        }
    }

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGTERM = 15;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;
}
