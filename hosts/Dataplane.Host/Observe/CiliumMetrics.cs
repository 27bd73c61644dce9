using Dataplane.Core.Counters;
using Dataplane.Core.Drops;
using Prometheus;

namespace Dataplane.Host.Observe;

/// <summary>
/// Prometheus metrics under Cilium's names (<c>cilium_drop_count_total{reason,direction}</c>,
/// <c>cilium_drop_bytes_total</c>, <c>cilium_forward_count_total{direction}</c>, <c>cilium_forward_bytes_total</c>),
/// so existing Cilium dashboards and alerts work unchanged, plus the dataplane's own per-stage and conntrack
/// figures. Values are pulled from the workers' counters just before each scrape; the datapath never touches
/// prometheus-net.
/// </summary>
public sealed class CiliumMetrics
{
    /// <summary>Label values of Cilium's metrics for <see cref="Dataplane.Core.Packets.TrafficDirection"/> 0, 1, 2.</summary>
    private static readonly string[] DirectionLabels = ["UNKNOWN", "INGRESS", "EGRESS"];

    private readonly Func<MetricsSample> _sample;
    private readonly Counter _dropCount, _dropBytes, _forwardCount, _forwardBytes, _audited;
    private readonly Counter _rxPackets, _rxBytes, _localPackets, _stagePackets, _stageDrops;
    private readonly Gauge _ctEntries, _ctCapacity, _generation;
    private readonly Counter _flowEvents, _flowWriteErrors;
    private readonly WireGuardMetrics _wireGuard;

    public CiliumMetrics(CollectorRegistry registry, Func<MetricsSample> sample)
    {
        _sample = sample;
        var f = Metrics.WithCustomRegistry(registry);
        var reasonDirection = new CounterConfiguration { LabelNames = ["reason", "direction"] };
        var direction = new CounterConfiguration { LabelNames = ["direction"] };
        _dropCount = f.CreateCounter("cilium_drop_count_total", "Total dropped packets, tagged by drop reason and ingress/egress direction", reasonDirection);
        _dropBytes = f.CreateCounter("cilium_drop_bytes_total", "Total dropped bytes, tagged by drop reason and ingress/egress direction", reasonDirection);
        _forwardCount = f.CreateCounter("cilium_forward_count_total", "Total forwarded packets, tagged by ingress/egress direction", direction);
        _forwardBytes = f.CreateCounter("cilium_forward_bytes_total", "Total forwarded bytes, tagged by ingress/egress direction", direction);
        _audited = f.CreateCounter("dataplane_policy_audited_total", "Packets policy audit mode let through that policy would have dropped, tagged by the direction of that policy (verdict AUDIT in the flows)", direction);
        _rxPackets = f.CreateCounter("dataplane_rx_packets_total", "Packets received by the pipeline");
        _rxBytes = f.CreateCounter("dataplane_rx_bytes_total", "Bytes received by the pipeline");
        _localPackets = f.CreateCounter("dataplane_local_packets_total", "Packets handed to the host stack");
        _stagePackets = f.CreateCounter("dataplane_stage_packets_total", "Packets each pipeline stage processed",
            new CounterConfiguration { LabelNames = ["stage"] });
        _stageDrops = f.CreateCounter("dataplane_stage_drops_total", "Packets each pipeline stage dropped (VPP's per-node errors; the reason is in cilium_drop_count_total)",
            new CounterConfiguration { LabelNames = ["stage"] });
        _ctEntries = f.CreateGauge("dataplane_conntrack_entries", "Connections tracked, all workers");
        _ctCapacity = f.CreateGauge("dataplane_conntrack_capacity", "Connection table capacity, all workers");
        _generation = f.CreateGauge("dataplane_config_generation", "Generation of the configuration snapshot in force");
        _flowEvents = f.CreateCounter("dataplane_flow_events_total", "Flow events of --flows-file by outcome: written, lost (a worker's ring was full), rate_limited (drop events over --flows-drop-rate), unwritten (the write failed)",
            new CounterConfiguration { LabelNames = ["outcome"] });
        _flowWriteErrors = f.CreateCounter("dataplane_flow_export_write_errors_total", "Writes, opens and rotations of the flow file that failed (a full disk); the agent keeps forwarding");
        _wireGuard = new WireGuardMetrics(f);
        registry.AddBeforeCollectCallback(Update);
    }

    /// <summary>Copies the current counters into the collectors (counters only move forward: IncTo).</summary>
    public void Update()
    {
        MetricsSample s = _sample();
        WorkerCounters c = s.Counters;
        for (int d = 0; d < WorkerCounters.Directions; d++)
        {
            for (int r = 0; r < 256; r++)
            {
                ulong n = c.DirectionalDrops[d * 256 + r];
                if (n == 0) continue;
                string reason = DropReasonMetricNames.Describe((DropReason)r);
                _dropCount.WithLabels(reason, DirectionLabels[d]).IncTo(n);
                _dropBytes.WithLabels(reason, DirectionLabels[d]).IncTo(c.DirectionalDropBytes[d * 256 + r]);
            }
            if (c.AuditedPackets[d] != 0) _audited.WithLabels(DirectionLabels[d]).IncTo(c.AuditedPackets[d]);
            if (c.ForwardPackets[d] == 0) continue;
            _forwardCount.WithLabels(DirectionLabels[d]).IncTo(c.ForwardPackets[d]);
            _forwardBytes.WithLabels(DirectionLabels[d]).IncTo(c.ForwardBytes[d]);
        }
        _rxPackets.IncTo(c.RxPackets);
        _rxBytes.IncTo(c.RxBytes);
        _localPackets.IncTo(c.LocalPackets);
        for (int i = 0; i < s.StageNames.Count && i < WorkerCounters.MaxStages; i++)
        {
            if (c.StagePackets[i] != 0) _stagePackets.WithLabels(s.StageNames[i]).IncTo(c.StagePackets[i]);
            if (c.StageDrops[i] != 0) _stageDrops.WithLabels(s.StageNames[i]).IncTo(c.StageDrops[i]);
        }
        _ctEntries.Set(s.ConntrackEntries);
        _ctCapacity.Set(s.ConntrackCapacity);
        _generation.Set(s.ConfigGeneration);
        if (s.FlowExport is { } fx)
        {
            _flowEvents.WithLabels("written").IncTo(fx.Written);
            _flowEvents.WithLabels("lost").IncTo(fx.Lost);
            _flowEvents.WithLabels("rate_limited").IncTo(fx.RateLimited);
            _flowEvents.WithLabels("unwritten").IncTo(fx.Unwritten);
            _flowWriteErrors.IncTo(fx.WriteErrors);
        }
        _wireGuard.Update(s.Encryption);
    }
}
