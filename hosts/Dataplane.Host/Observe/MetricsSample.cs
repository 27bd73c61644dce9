using Dataplane.Core.Counters;

namespace Dataplane.Host.Observe;

/// <summary>
/// What the metrics endpoint reports at one scrape: the workers' counters summed (slightly stale is fine, as
/// with Cilium's per-CPU maps), conntrack occupancy and the configuration generation in force.
/// </summary>
public sealed record MetricsSample(
    WorkerCounters Counters,
    long ConntrackEntries,
    long ConntrackCapacity,
    long ConfigGeneration,
    IReadOnlyList<string> StageNames,
    Api.FlowExportStatus? FlowExport = null,
    Api.EncryptionStatus? Encryption = null);
