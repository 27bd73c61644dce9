using Dataplane.Core.Neighbors;
using Dataplane.Core.Snapshot;

namespace Dataplane.Host.Backends.Lanes;

/// <summary>
/// Runs the neighbour resolver of the C# backends on a thread of its own: takes the records every lane's worker
/// posted (misses, confirmations, learned addresses), runs the timers, and hands the frames to send to a lane's
/// worker through its ring (any lane can send on any port: each has a queue of every port). Polls every
/// millisecond while something is being resolved or was posted, every 10 ms otherwise.
/// </summary>
internal sealed class NeighborDriver : IDisposable
{
    private const int BusyMillis = 1, IdleMillis = 10;

    private readonly IReadOnlyList<WorkerNeighbors> _workers;
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;

    public NeighborDriver(IReadOnlyList<WorkerNeighbors> workers, NeighborResolver resolver)
    {
        _workers = workers;
        Resolver = resolver;
        resolver.Transmit = Send;
    }

    public NeighborResolver Resolver { get; }

    /// <summary>A failure of the resolver thread (it stops; workers then queue nothing more: their ring fills and
    /// they drop with FIB_LOOKUP_FAILED).</summary>
    public Exception? Failure { get; private set; }

    public void Configure(DatapathSnapshot snapshot) => Resolver.Configure(snapshot);

    public void Start()
    {
        _thread = new Thread(Loop) { Name = "dp-neighbors", IsBackground = true };
        _thread.Start();
    }

    private void Loop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                bool posted = false;
                foreach (var w in _workers)
                {
                    if (w.ToResolver.Count == 0) continue;
                    posted = true;
                    Resolver.Drain(w.ToResolver);
                }
                Resolver.Tick();
                _stop.Token.WaitHandle.WaitOne(posted || Resolver.Busy ? BusyMillis : IdleMillis);
            }
        }
        catch (Exception e) { Failure = e; }
    }

    /// <summary>Resolver → the first lane's worker (called under the resolver's lock: one producer at a time).</summary>
    private bool Send(ushort port, ReadOnlySpan<byte> frame) =>
        _workers.Count > 0 && _workers[0].FromResolver.TryWrite(FrameKind.Transmit, port, false, 0, 0, frame);

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}
