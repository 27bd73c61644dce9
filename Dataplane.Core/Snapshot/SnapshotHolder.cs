namespace Dataplane.Core.Snapshot;

/// <summary>
/// The one place the current snapshot is published. A swap is a single reference store, so workers never
/// wait and never see a half-built config; a worker keeps using the snapshot it loaded until its batch ends.
/// </summary>
public sealed class SnapshotHolder(DatapathSnapshot initial)
{
    private DatapathSnapshot _current = initial;

    public DatapathSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Publishes <paramref name="next"/> and returns the previous snapshot.</summary>
    public DatapathSnapshot Swap(DatapathSnapshot next) => Interlocked.Exchange(ref _current, next);
}
