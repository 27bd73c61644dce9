using System.Runtime.InteropServices;

namespace Dataplane.Host.Agent;

/// <summary>
/// The signals an agent answers: SIGTERM and SIGINT stop it (gracefully: workers joined, counters printed),
/// SIGHUP reloads the config directory (as daemons do; its default action would kill the agent without clean-up),
/// SIGUSR1 prints its counters. Handlers run on the runtime's signal thread; they only set flags or print.
/// </summary>
internal sealed class Signals : IDisposable
{
    private const int SIGUSR1 = 10;
    private readonly List<PosixSignalRegistration> _registrations = [];

    public Signals(Action stop, Action printCounters, Action reload)
    {
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; reload(); }));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop(); }));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop(); }));
        _registrations.Add(PosixSignalRegistration.Create((PosixSignal)SIGUSR1, c => { c.Cancel = true; printCounters(); }));
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
    }
}
