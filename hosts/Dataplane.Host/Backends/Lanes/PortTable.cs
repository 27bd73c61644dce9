using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;

namespace Dataplane.Host.Backends.Lanes;

/// <summary>
/// The sockets the agent holds, one per (interface, queue), keyed by interface name so they outlive snapshot
/// swaps that renumber ports. Control thread only; workers see ports through <see cref="LanePlan"/>s.
/// </summary>
internal sealed class PortTable(LaneBackend backend, IReadOnlyList<AgentLane> lanes, TextWriter log) : IDisposable
{
    private bool Exists(string name) => backend.Exists(name);

    private sealed record Opened(string Name, PortKind Kind, IPort[] Queues, int[] Fds);

    private readonly Dictionary<string, Opened> _open = new(StringComparer.Ordinal);
    private long _sequence;

    public IEnumerable<string> Names => _open.Keys;

    public bool IsOpen(string name) => _open.ContainsKey(name);

    /// <summary>The per-queue ports of an interface (for counters).</summary>
    public IPort[]? QueuesOf(string name) => _open.GetValueOrDefault(name)?.Queues;

    /// <summary>
    /// Opens every port of <paramref name="snapshot"/> whose interface exists and is not open yet. A port that
    /// cannot be opened is logged and left out (the pipeline counts what it routes there as tx-no-port).
    /// </summary>
    public void OpenPresent(DatapathSnapshot snapshot)
    {
        foreach (var p in snapshot.Ports)
        {
            if (_open.ContainsKey(p.Name) || !Exists(p.Name)) continue;
            var queues = new IPort[lanes.Count];
            var fds = new int[lanes.Count];
            try
            {
                for (int q = 0; q < lanes.Count; q++)
                {
                    string mode = "";
                    backend.OnLane(q, () => queues[q] = backend.Wrap(q, p, backend.Open(q, p, out fds[q], out mode)));
                    log.WriteLine($"run: port {p.Id} {p.Name} ({p.Kind}){(lanes.Count > 1 ? $" queue {q}" : "")}: {mode}");
                }
                _open[p.Name] = new Opened(p.Name, p.Kind, queues, fds);
            }
            catch (Exception e) when (backend.CannotOpen(e))
            {
                for (int q = 0; q < queues.Length; q++)
                    if (queues[q] is { } port) backend.OnLane(q, LaneBackend.Innermost(port).Dispose);
                backend.Closed(p.Name);
                log.WriteLine($"run: port {p.Id} {p.Name}: cannot attach: {e.Message}");
            }
        }
        log.Flush();
    }

    /// <summary>Interfaces open now that <paramref name="snapshot"/> no longer names or whose device is gone.</summary>
    public List<string> Stale(DatapathSnapshot snapshot)
    {
        var wanted = snapshot.Ports.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        return _open.Keys.Where(n => !wanted.Contains(n) || !Exists(n)).ToList();
    }

    /// <summary>Port names of <paramref name="snapshot"/> whose interface exists but is not open yet.</summary>
    public bool HasMissing(DatapathSnapshot snapshot) =>
        snapshot.Ports.Any(p => !_open.ContainsKey(p.Name) && Exists(p.Name));

    /// <summary>
    /// The plan of every lane for <paramref name="snapshot"/>, leaving out <paramref name="closing"/>: open
    /// sockets under the snapshot's port numbers.
    /// </summary>
    public LanePlan[] Plans(DatapathSnapshot snapshot, IReadOnlyCollection<string> closing)
    {
        long seq = ++_sequence;
        var plans = new LanePlan[lanes.Count];
        for (int q = 0; q < lanes.Count; q++)
        {
            var rx = new List<IPort>();
            var fds = new List<int>();
            var byId = new IPort?[snapshot.Ports.Length];
            foreach (var p in snapshot.Ports)
            {
                if (!_open.TryGetValue(p.Name, out var o) || closing.Contains(p.Name)) continue;
                var inner = o.Queues[q];
                var port = inner.Id == p.Id ? inner : new RenumberedPort(inner, p.Id);
                byId[p.Id] = port;
                rx.Add(port);
                fds.Add(o.Fds[q]);
            }
            plans[q] = new LanePlan(seq, snapshot, [.. rx], byId, [.. fds]);
        }
        return plans;
    }

    /// <summary>Closes the sockets of <paramref name="name"/>; only once no lane's plan uses them.</summary>
    public void Close(string name)
    {
        if (!_open.Remove(name, out var o)) return;
        for (int q = 0; q < o.Queues.Length; q++) backend.Retire(q, LaneBackend.Innermost(o.Queues[q]));
        backend.Closed(name);
        log.WriteLine($"run: port {name}: detached");
        log.Flush();
    }

    public void Dispose()
    {
        foreach (var name in _open.Keys.ToList()) Close(name);
    }
}
