namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>
/// The background task of a watcher, publisher or lease: started at most once, stopped at most once (a stopped
/// loop never starts again), and stopping waits for the task to finish.
/// </summary>
internal sealed class BackgroundLoop
{
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private Task? _task;
    private bool _stopped;

    public void Start(Func<CancellationToken, Task> body)
    {
        lock (_gate)
            if (_task == null && !_stopped) _task = Task.Run(() => body(_stop.Token));
    }

    public async Task StopAsync()
    {
        Task? task;
        lock (_gate)
        {
            if (!_stopped) { _stopped = true; _stop.Cancel(); }
            task = _task;
        }
        if (task == null) return;
        try { await task.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }
}
