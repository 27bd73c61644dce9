using Dataplane.Core.Packets;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// A VPP-style graph node: takes the whole batch, handles every packet still alive, writes its verdict
/// fields. Static abstract members so <see cref="PacketPipeline"/> calls each stage directly (no interface
/// dispatch, the JIT can inline across).
/// </summary>
public interface IStage
{
    static abstract StageId Id { get; }

    /// <summary>Processes the batch; returns how many packets it looked at (for per-stage counters).</summary>
    static abstract int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context);
}
