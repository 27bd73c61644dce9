namespace Dataplane.ClusterMesh.Kvstore;

/// <summary>Exponential backoff with jitter; <see cref="Reset"/> after a success.</summary>
internal sealed class Backoff(TimeSpan min, TimeSpan max)
{
    private TimeSpan _next;

    public void Reset() => _next = TimeSpan.Zero;

    public Task DelayAsync(CancellationToken ct)
    {
        if (_next < min) _next = min;
        var jitter = 0.8 + Random.Shared.NextDouble() * 0.4;
        var delay = TimeSpan.FromTicks((long)(_next.Ticks * jitter));
        _next = TimeSpan.FromTicks(Math.Min(max.Ticks, _next.Ticks * 2));
        return Task.Delay(delay, ct);
    }
}
