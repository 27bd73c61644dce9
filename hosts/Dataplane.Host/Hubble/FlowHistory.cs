using Observer;

namespace Dataplane.Host.Hubble;

/// <summary>
/// Hubble's ring buffer: the last <see cref="Capacity"/> flows the exporter built (Cilium's default
/// <c>--hubble-event-buffer-capacity</c> is 4095), each at a position counted since start, for <c>GetFlows</c> to
/// read back (last/first N, since/until) and to follow. One writer (the exporter's thread) adds a batch, then wakes
/// every follower at once; a follower that falls more than a ring behind is told how many flows it lost.
/// </summary>
public sealed class FlowHistory(int capacity = FlowHistory.DefaultCapacity)
{
    public const int DefaultCapacity = 4095;

    private readonly GetFlowsResponse[] _items = new GetFlowsResponse[Math.Max(1, capacity)];
    private readonly Lock _lock = new();
    private long _next;
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Capacity => _items.Length;

    /// <summary>Flows added since start (Hubble's seen_flows); the position the next one will have.</summary>
    public long Next { get { lock (_lock) return _next; } }

    /// <summary>The oldest position still held.</summary>
    public long Oldest { get { lock (_lock) return Math.Max(0, _next - _items.Length); } }

    public int Count { get { lock (_lock) return (int)Math.Min(_next, _items.Length); } }

    public void Add(GetFlowsResponse flow)
    {
        lock (_lock) _items[_next++ % _items.Length] = flow;
    }

    /// <summary>Wakes the followers after a batch of <see cref="Add"/>.</summary>
    public void Published()
    {
        TaskCompletionSource woken;
        lock (_lock)
        {
            woken = _added;
            _added = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        woken.TrySetResult();
    }

    /// <summary>The flow at <paramref name="position"/>, or null when it was overwritten or is not there yet.</summary>
    public GetFlowsResponse? At(long position)
    {
        lock (_lock)
            return position >= Math.Max(0, _next - _items.Length) && position < _next ? _items[position % _items.Length] : null;
    }

    /// <summary>Completes when a flow at <paramref name="position"/> or later exists.</summary>
    public Task WaitFor(long position, CancellationToken cancel)
    {
        Task wait;
        lock (_lock)
        {
            if (_next > position) return Task.CompletedTask;
            wait = _added.Task;
        }
        return wait.WaitAsync(cancel);
    }
}
