using System.Diagnostics;
using System.Text;

namespace Dataplane.Testing.Processes;

/// <summary>
/// A long-running child (the forwarder, a server, a peer daemon) whose stdout and stderr are collected in
/// order; disposed = killed with its tree. Optionally the output is also appended to a log file.
/// </summary>
public sealed class Background : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _out = new();
    private readonly StreamWriter? _log;

    public Background(string file, params string[] args) : this(null, file, args) { }

    /// <param name="logFile">Also append every line here (null: memory only).</param>
    public Background(string? logFile, string file, params string[] args)
    {
        _p = Sh.Start(file, args, redirectStdin: false);
        if (logFile != null) _log = new StreamWriter(logFile) { AutoFlush = true };
        _p.OutputDataReceived += (_, e) => Append(e.Data);
        _p.ErrorDataReceived += (_, e) => Append(e.Data);
        _p.BeginOutputReadLine(); _p.BeginErrorReadLine();
    }

    private void Append(string? line)
    {
        if (line == null) return;
        lock (_out)
        {
            _out.AppendLine(line);
            _log?.WriteLine(line);
        }
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

    /// <summary>Waits (bounded) for the process to exit by itself.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout)) return false;
        _p.WaitForExit();
        return true;
    }

    /// <summary>Sends a signal (by number: <see cref="Sh.SIGTERM"/>, <see cref="Sh.SIGUSR1"/> …).</summary>
    public void Signal(int signal) => Sh.kill(_p.Id, signal);

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
            if (!_p.HasExited)
            {
                Sh.kill(_p.Id, Sh.SIGCONT); // a stopped process cannot die until it runs again
                _p.Kill(entireProcessTree: true);
            }
            _p.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
        lock (_out) _log?.Dispose();
    }
}
