using System.Runtime.InteropServices;

namespace Dataplane.Host.Agent;

/// <summary>
/// The signals an agent answers: SIGTERM and SIGINT stop it (gracefully: workers joined, counters printed),
/// SIGHUP reloads the config directory (as daemons do; its default action would kill the agent without clean-up),
/// SIGUSR1 prints its counters. Handlers run on the runtime's signal thread; they only set flags or print.
/// </summary>
internal sealed unsafe partial class Signals : IDisposable
{
    private const int SIGHUP = 1, SIGUSR1 = 10;
    private static readonly nint SIG_IGN = 1;
    private readonly List<PosixSignalRegistration> _registrations = [];

    /// <param name="log">Where to say that an inherited "ignore SIGHUP" was overridden.</param>
    public Signals(Action stop, Action printCounters, Action reload, TextWriter log)
    {
        if (TakeBackIgnoredHangup()) log.WriteLine("agent: SIGHUP was ignored by the parent (nohup?): it reloads the config here, as for any daemon");
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; reload(); }));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop(); }));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop(); }));
        _registrations.Add(PosixSignalRegistration.Create((PosixSignal)SIGUSR1, c => { c.Cancel = true; printCounters(); }));
    }

    /// <summary>
    /// An agent started under `nohup` (or by any parent that ignores SIGHUP: a CI runner, a build server's node)
    /// inherits SIGHUP as ignored, and .NET respects an ignored signal: its registration then installs no handler
    /// and `kill -HUP` silently does nothing. Like sshd or nginx, whose SIGHUP means "reload", the agent puts the
    /// default back first so its own handler is installed; a hang-up then reloads instead of killing it.
    /// True when the disposition was "ignore". Must run before the first SIGHUP registration in the process.
    /// </summary>
    private static bool TakeBackIgnoredHangup()
    {
        // struct sigaction starts with the handler on glibc (x86-64, arm64); the rest (mask, flags, restorer) is
        // under 160 bytes: a zeroed 256-byte block is "SIG_DFL, empty mask, no flags".
        nint now = Marshal.AllocHGlobal(SigactionBytes), dfl = Marshal.AllocHGlobal(SigactionBytes);
        try
        {
            new Span<byte>((void*)now, SigactionBytes).Clear();
            new Span<byte>((void*)dfl, SigactionBytes).Clear();
            if (sigaction(SIGHUP, 0, now) != 0 || Marshal.ReadIntPtr(now) != SIG_IGN) return false;
            return sigaction(SIGHUP, dfl, 0) == 0;
        }
        finally
        {
            Marshal.FreeHGlobal(now);
            Marshal.FreeHGlobal(dfl);
        }
    }

    private const int SigactionBytes = 256;

    [LibraryImport("libc")]
    private static partial int sigaction(int signum, nint act, nint oldact);

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}
