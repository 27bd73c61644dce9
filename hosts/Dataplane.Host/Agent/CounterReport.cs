using Dataplane.Core.Counters;
using Dataplane.Core.Drops;
using Dataplane.Host.Observe;

namespace Dataplane.Host.Agent;

/// <summary>The backend's counters as `run` prints them on SIGUSR1, every interval and on exit, and as the metrics see them.</summary>
internal static class CounterReport
{
    private static readonly string[] StageNames = Enum.GetNames<Dataplane.Core.Pipeline.StageId>();

    public static WorkerCounters Sum(HostAgent agent, out ulong txNoPort)
    {
        var c = new WorkerCounters();
        txNoPort = agent.PacketIo.AddCounters(c);
        return c;
    }

    /// <summary>Totals, drops by Cilium reason, then the backend's own lines (may be slightly stale).</summary>
    public static void Print(TextWriter log, string what, HostAgent agent)
    {
        var c = Sum(agent, out ulong noPort);
        lock (log)
        {
            log.WriteLine($"{what}: rx {c.RxPackets} packets ({c.RxBytes} bytes), tx {c.TxPackets}, local {c.LocalPackets}, dropped {c.TotalDrops}, tx-no-port {noPort}"
                + (c.QueuedPackets != 0 ? $", neighbour-queued {c.QueuedPackets}" : ""));
            for (int r = 0; r < c.Drops.Length; r++)
                if (c.Drops[r] != 0)
                    log.WriteLine($"{what}:   drop {DropReasonNames.Describe((DropReason)r)} ({r}): {c.Drops[r]}");
            agent.PacketIo.PrintCounters(log, what);
            log.Flush();
        }
    }

    /// <summary>What one metrics scrape reports.</summary>
    public static MetricsSample Sample(HostAgent agent)
    {
        var c = Sum(agent, out _);
        var (entries, capacity) = agent.PacketIo.Conntrack;
        return new MetricsSample(c, entries, capacity, agent.Generation, StageNames, agent.Flows?.Status(),
            agent.Encryption?.Status());
    }
}
