using Dataplane.Core.Conntrack;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Linux;

namespace Dataplane.Host.Backends.Lanes;

/// <summary>
/// One worker thread (queue <see cref="Queue"/> of every port). Its pipeline has its own snapshot holder: the
/// worker swaps snapshot and port list together when it adopts a new <see cref="LanePlan"/>, at the top of a
/// poll, so the ports that did not change keep forwarding without a gap. Its <see cref="WorkerContext"/>
/// (counters, conntrack) lives as long as the lane, so established connections survive every swap; the conntrack
/// table may live in a shared file (<see cref="ConntrackHome"/>), so they survive the agent too.
/// </summary>
internal sealed class AgentLane : IDisposable
{
    private readonly PacketPipeline _pipeline;
    /// <summary>Run on the worker thread around its loop (DPDK: register with the EAL for an lcore id, for the mempool caches).</summary>
    private readonly Action? _starts, _stops;
    private readonly WorkerOptions _options;
    private LanePlan? _pending;
    private LanePlan? _current;
    private long _adopted;
    private PortWorker? _worker;
    private PollWaiter? _waiter;
    /// <summary>Signalled with each new plan: a worker blocked on idle sockets adopts it at once (a CNI ADD waits for that).</summary>
    private readonly WakeEvent _wake = new();
    private readonly object _adoptedGate = new();   // Monitor.Wait/Pulse: a plain object, not a Lock
    private ulong _txNoPortRetired;
    private volatile bool _pauseRequested;
    private readonly ManualResetEventSlim _paused = new(false), _resume = new(false);

    public AgentLane(int queue, DatapathSnapshot initial, ConntrackTable conntrack, WorkerOptions options,
        Dataplane.Core.Flows.FlowRing? flows = null, Action? workerStarts = null, Action? workerStops = null,
        Dataplane.Core.Neighbors.WorkerNeighbors? neighbors = null, Dataplane.Core.L7.ProxyRedirects? l7 = null,
        bool traceEvents = true, bool dropEvents = true)
    {
        _starts = workerStarts;
        _stops = workerStops;
        Queue = queue;
        Context = new WorkerContext(queue, flows, conntrack) { Neighbors = neighbors, Proxy = l7, TraceEvents = traceEvents, DropEvents = dropEvents };
        _pipeline = new PacketPipeline(new SnapshotHolder(initial));
        _options = options;
    }

    public int Queue { get; }
    public WorkerContext Context { get; }
    public Thread? Thread { get; private set; }
    public Exception? Failure { get; private set; }

    /// <summary>Packets routed to a port this lane had no socket for, over all plans (slightly stale).</summary>
    public ulong TxNoPort => _txNoPortRetired + (Volatile.Read(ref _worker)?.TxNoPort ?? 0);

    /// <summary>The plan the worker forwards with now (null before the first adoption).</summary>
    public LanePlan? Current => Volatile.Read(ref _current);

    public void Publish(LanePlan plan)
    {
        Volatile.Write(ref _pending, plan);
        _wake.Signal();
    }

    /// <summary>Waits until the worker forwards with <paramref name="plan"/> (or a later one); false on timeout or if the worker died.</summary>
    public bool WaitAdopted(LanePlan plan, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        lock (_adoptedGate)
        {
            while (Volatile.Read(ref _adopted) < plan.Sequence)
            {
                if (DateTime.UtcNow > until || (Thread is { IsAlive: false })) return false;
                // Pulsed by the worker when it adopts; the timeout only re-checks that it is still alive.
                Monitor.Wait(_adoptedGate, 50);
            }
        }
        return true;
    }

    public void Start(CancellationTokenSource stop)
    {
        Thread = new Thread(() =>
        {
            try
            {
                _starts?.Invoke();
                try { Loop(stop.Token); }
                finally { _stops?.Invoke(); }
            }
            catch (Exception e) { Failure = e; stop.Cancel(); }
        }) { Name = $"dp-worker-{Queue}", IsBackground = true };
        Thread.Start();
    }

    private void Loop(CancellationToken token)
    {
        var pacer = new PollPacer();
        while (!token.IsCancellationRequested)
        {
            if (_pauseRequested)
            {
                _paused.Set();
                while (!_resume.Wait(10) && !token.IsCancellationRequested) { }
                _resume.Reset();
            }
            var plan = Volatile.Read(ref _pending);
            if (plan is not null && !ReferenceEquals(plan, _current)) Adopt(plan);
            var worker = _worker;
            if (worker is null)
            {
                if (_waiter is { } idle) idle.Wait(5000); else System.Threading.Thread.Sleep(5);
                continue;
            }
            int n = worker.RunOnce();
            if (n == 0) worker.IdlePolls++;
            pacer.AfterPoll(n, Dataplane.Core.Packets.Batch.MaxSize, _options, _waiter!);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> while the worker holds still between two polls. AF_XDP sockets of a lane
    /// share its UMEM's free list, which the worker uses without locks: opening or closing a socket (which fills
    /// or drains its rings from that list) must not run beside it. Packets wait in the rings meanwhile.
    /// </summary>
    public void WhilePaused(Action action)
    {
        if (Thread is not { IsAlive: true })
        {
            action();
            return;
        }
        _pauseRequested = true;
        try
        {
            while (!_paused.Wait(10))
                if (!Thread.IsAlive) break;
            action();
        }
        finally
        {
            _pauseRequested = false;
            _paused.Reset();
            _resume.Set();
        }
    }

    /// <summary>On the worker thread, between polls: nothing of the old plan is in flight.</summary>
    private void Adopt(LanePlan plan)
    {
        var oldWorker = _worker;
        var oldWaiter = _waiter;
        _pipeline.Snapshots.Swap(plan.Snapshot);
        if (plan.Rx.Length == 0)
        {
            _worker = null;
            _waiter = new PollWaiter([], _wake);   // no ports: sleeps until the next plan
        }
        else
        {
            _waiter = new PollWaiter(plan.Fds, _wake);
            Volatile.Write(ref _worker, new PortWorker(_pipeline, Context, plan.Rx, plan.ById, _options, _waiter));
        }
        if (oldWorker is not null)
        {
            _txNoPortRetired += oldWorker.TxNoPort;
            oldWorker.Dispose();
        }
        oldWaiter?.Dispose();
        Volatile.Write(ref _current, plan);
        lock (_adoptedGate)
        {
            Volatile.Write(ref _adopted, plan.Sequence);
            Monitor.PulseAll(_adoptedGate);
        }
    }

    /// <summary>After the thread has stopped.</summary>
    public void Dispose()
    {
        _worker?.Dispose();
        _waiter?.Dispose();
        _wake.Dispose();
        Context.Conntrack?.Dispose();
        _paused.Dispose();
        _resume.Dispose();
    }
}
