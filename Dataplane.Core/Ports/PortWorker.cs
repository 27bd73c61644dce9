using System.Runtime.CompilerServices;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;

namespace Dataplane.Core.Ports;

/// <summary>How a worker waits for packets (see <see cref="PollPacer"/>).</summary>
public enum PollMode : byte
{
    /// <summary>Never waits: the lowest latency, and a whole core whatever the load.</summary>
    Busy,
    /// <summary>
    /// Spins through <see cref="WorkerOptions.SpinBeforeSleep"/> empty polls, then waits on the sockets at most
    /// <see cref="WorkerOptions.PollSleepMicros"/> at a time.
    /// </summary>
    Adaptive,
    /// <summary>
    /// Blocks on the sockets until one is readable; while traffic lasts, sleeps
    /// <see cref="WorkerOptions.CoalesceMicros"/> between polls so each wake-up takes a batch, not a packet
    /// (NAPI with interrupt moderation, in user space); never sleeps while polls come back full.
    /// </summary>
    Interrupt,
}

/// <summary>How a worker polls.</summary>
public sealed record WorkerOptions
{
    public PollMode Mode { get; init; } = PollMode.Adaptive;

    /// <summary>Adaptive: longest wait on the sockets per empty poll, in microseconds; 0 = pure busy poll.</summary>
    public int PollSleepMicros { get; init; } = 50;

    /// <summary>Adaptive: empty iterations (spinning) before the worker starts waiting.</summary>
    public int SpinBeforeSleep { get; init; } = 256;

    /// <summary>
    /// Interrupt: after a wake-up and after every poll that was not full, sleep this long before the next poll so
    /// the next batch gathers meanwhile (it bounds the latency this adds); 0 = poll again at once.
    /// </summary>
    public int CoalesceMicros { get; init; } = 50;

    /// <summary>
    /// Interrupt: longest single wait on the sockets. Bounds how late the worker sees a cancellation, a pause or
    /// a transmission the kernel left queued, not how late it sees packets (they wake it).
    /// </summary>
    public int IdleWaitMicros { get; init; } = 10_000;
}

/// <summary>
/// The waiting half of a worker loop: after each poll, decides by <see cref="WorkerOptions.Mode"/> whether to poll
/// again at once, spin, sleep or block on the sockets. One per worker thread (mutable state, no locks).
/// </summary>
public struct PollPacer
{
    private int _empty;

    /// <summary>Called after every poll with the packets it received and the batch's capacity.</summary>
    public void AfterPoll(int received, int capacity, WorkerOptions options, IIdleWaiter waiter)
    {
        switch (options.Mode)
        {
            case PollMode.Adaptive:
                if (received != 0) { _empty = 0; return; }
                if (options.PollSleepMicros <= 0) return;
                if (++_empty < options.SpinBeforeSleep) { SpinOnce(); return; }
                waiter.Wait(options.PollSleepMicros);
                return;
            case PollMode.Interrupt:
                // A full batch means the rings hold more: poll again at once (busy polling under load).
                if (received >= capacity) return;
                if (received == 0)
                {
                    // Idle: block until a socket is readable. The first packet wakes us; the coalescing sleep below
                    // lets the rest of its burst arrive, so the poll after it takes a batch.
                    if (!waiter.Wait(options.IdleWaitMicros)) return;
                }
                if (options.CoalesceMicros > 0) waiter.Sleep(options.CoalesceMicros);
                return;
            default:
                return;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SpinOnce() => Thread.SpinWait(8);
}

/// <summary>
/// One worker: polls its receive queues into one batch, runs the pipeline, transmits per output port, gives the
/// buffers back, repeats. Single-threaded over its ports and counters; one worker per queue (or per set of queues
/// on a small machine). Nothing on the loop allocates.
/// </summary>
public sealed class PortWorker : IDisposable
{
    private readonly PacketPipeline _pipeline;
    private readonly IPort[] _rx;
    private readonly IPort?[] _byId;
    private readonly IIdleWaiter _waiter;
    private readonly WorkerOptions _options;
    private readonly Batch _batch;
    private readonly ushort[][] _txIndex;
    private readonly int[] _txCount;
    private readonly int[] _rxStart;
    private readonly int[] _rxCount;
    private readonly ushort[] _touched;
    private int _next;
    /// <summary>Frames the neighbour resolver hands this worker (solicitations, released packets), copied into a pool
    /// of its own before transmission; null without neighbour resolution.</summary>
    private readonly Batch? _fromResolver;
    private readonly PacketPool? _fromResolverPool;

    /// <summary>
    /// A worker over <paramref name="rxPorts"/> (the queues it receives from) transmitting to
    /// <paramref name="portsById"/> (every port, indexed by port number, null where absent).
    /// </summary>
    public PortWorker(PacketPipeline pipeline, WorkerContext context, IReadOnlyList<IPort> rxPorts, IReadOnlyList<IPort?> portsById,
        WorkerOptions? options = null, IIdleWaiter? waiter = null)
    {
        _pipeline = pipeline;
        Context = context;
        _rx = rxPorts.ToArray();
        _byId = portsById.ToArray();
        _options = options ?? new WorkerOptions();
        _waiter = waiter ?? SleepWaiter.Instance;
        _batch = new Batch();
        _txIndex = new ushort[_byId.Length][];
        for (int i = 0; i < _txIndex.Length; i++) _txIndex[i] = new ushort[Batch.MaxSize];
        _txCount = new int[_byId.Length];
        _touched = new ushort[Math.Max(1, _byId.Length)];
        _rxStart = new int[_rx.Length];
        _rxCount = new int[_rx.Length];
        if (context.Neighbors is not null)
        {
            _fromResolver = new Batch(32);
            _fromResolverPool = new PacketPool(32);
        }
    }

    public WorkerContext Context { get; }

    /// <summary>Packets the pipeline sent to a port number this worker has no port for (e.g. a pod not present).</summary>
    public ulong TxNoPort;

    /// <summary>Worker iterations that received nothing.</summary>
    public ulong IdlePolls;

    /// <summary>One poll: receive, process, transmit, release. Returns the packets received.</summary>
    public int RunOnce()
    {
        if (_fromResolver is not null) SendFromResolver();
        Batch batch = _batch;
        batch.Count = 0;
        // Start at a rotating port so one busy port cannot starve the others of batch space.
        int nrx = _rx.Length;
        for (int k = 0; k < nrx; k++)
        {
            int i = _next + k;
            if (i >= nrx) i -= nrx;
            _rxStart[i] = batch.Count;
            _rxCount[i] = batch.Count < batch.Capacity ? _rx[i].RxBurst(batch) : 0;
        }
        if (++_next >= nrx) _next = 0;
        int n = batch.Count;
        if (n != 0)
        {
            _pipeline.Process(batch, Context);
            Transmit(batch);
        }
        // Every port, even one that delivered nothing: a backend may hold buffers of frames it skipped.
        for (int i = 0; i < nrx; i++) _rx[i].Release(batch, _rxStart[i], _rxCount[i]);
        for (int i = 0; i < _byId.Length; i++) _byId[i]?.Flush();
        return n;
    }

    private unsafe void Transmit(Batch batch)
    {
        PacketMeta* m = batch.Meta;
        int n = batch.Count, touched = 0;
        int nports = _byId.Length;
        for (int i = 0; i < n; i++)
        {
            if (m[i].Verdict != PacketVerdict.Tx) continue;
            int port = m[i].OutPort;
            if ((uint)port >= (uint)nports || _byId[port] is null) { TxNoPort++; continue; }
            int c = _txCount[port];
            if (c == 0) _touched[touched++] = (ushort)port;
            _txIndex[port][c] = (ushort)i;
            _txCount[port] = c + 1;
        }
        for (int t = 0; t < touched; t++)
        {
            int port = _touched[t];
            _byId[port]!.TxBurst(batch, new ReadOnlySpan<ushort>(_txIndex[port], 0, _txCount[port]));
            _txCount[port] = 0;
        }
    }

    /// <summary>Transmits what the neighbour resolver left in this worker's ring (at most one small batch per poll).</summary>
    private void SendFromResolver()
    {
        var ring = Context.Neighbors!.FromResolver;
        if (ring.Count == 0) return;
        Batch b = _fromResolver!;
        PacketPool pool = _fromResolverPool!;
        b.Count = 0;
        while (b.Count < b.Capacity && ring.TryPeek(out var h, out var frame))
        {
            ref PacketMeta m = ref b[b.Count];
            if ((uint)h.Port < (uint)_byId.Length && _byId[h.Port] is not null && pool.TryLoad(ref m, frame, h.Port))
            {
                m.OutPort = h.Port;
                m.Verdict = PacketVerdict.Tx;
                b.Count++;
            }
            else TxNoPort++;
            ring.Advance();
        }
        if (b.Count == 0) return;
        Transmit(b);
        // Every port copies a buffer it does not own (AF_PACKET always, AF_XDP outside its UMEM): all come back.
        for (int i = 0; i < b.Count; i++) pool.Free(in b[i]);
        b.Count = 0;
    }

    /// <summary>Runs until <paramref name="token"/> is cancelled, waiting between polls as <see cref="WorkerOptions.Mode"/> says.</summary>
    public void Run(CancellationToken token)
    {
        var pacer = new PollPacer();
        while (!token.IsCancellationRequested)
        {
            int n = RunOnce();
            if (n == 0) IdlePolls++;
            pacer.AfterPoll(n, _batch.Capacity, _options, _waiter);
        }
    }

    public void Dispose()
    {
        _batch.Dispose();
        _fromResolver?.Dispose();
        _fromResolverPool?.Dispose();
    }
}
