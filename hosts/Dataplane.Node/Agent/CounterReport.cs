using Dataplane.Core.Counters;
using Dataplane.Core.Drops;
using Dataplane.Linux.AfPacket;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Node.Agent;

/// <summary>The counters summed over the workers, as `run` prints them on SIGUSR1, every interval, and on exit.</summary>
internal static class CounterReport
{
    public static WorkerCounters Sum(NodeAgent agent, out ulong txNoPort)
    {
        var c = new WorkerCounters();
        txNoPort = 0;
        foreach (var lane in agent.Lanes)
        {
            c.Add(lane.Context.Counters);
            txNoPort += lane.TxNoPort;
        }
        agent.Offload?.AddTo(c);
        return c;
    }

    /// <summary>Totals, drops by Cilium reason, per-port figures (may be slightly stale).</summary>
    public static void Print(TextWriter log, string what, NodeAgent agent)
    {
        var c = Sum(agent, out ulong noPort);
        lock (log)
        {
            log.WriteLine($"{what}: rx {c.RxPackets} packets ({c.RxBytes} bytes), tx {c.TxPackets}, local {c.LocalPackets}, dropped {c.TotalDrops}, tx-no-port {noPort}");
            for (int r = 0; r < c.Drops.Length; r++)
                if (c.Drops[r] != 0)
                    log.WriteLine($"{what}:   drop {DropReasonNames.Describe((DropReason)r)} ({r}): {c.Drops[r]}");
            if (agent.Offload is { } e)
                log.WriteLine($"{what}:   {e.Mode}; flow events lost in the ring buffer {e.EventsLost}; conntrack {e.Conntrack.Entries}/{e.Conntrack.Capacity}, expired {e.GcRemoved}; {e.ProgramRunTime}");
            foreach (var lane in agent.Lanes)
                foreach (var p in lane.Current?.Rx ?? [])
                {
                    var s = p.Stats;
                    string q = agent.Lanes.Count > 1 ? $" queue {lane.Queue}" : "";
                    log.WriteLine($"{what}:   port {p.Name}{q}: rx {s.RxPackets}, tx {s.TxPackets}, tx-dropped {s.TxDropped}, rx-skipped {s.RxSkipped}, kernel-drops {s.KernelDrops}"
                        + $", csum-completed {s.RxChecksumsCompleted}, gso-segmented {s.RxGsoSegmented}, offload-refused {s.RxOffloadRefused}");
                }
            log.Flush();
        }
    }

    /// <summary>After the workers stopped: the kernel's own drop counters of each socket.</summary>
    public static void PollKernelStats(NodeAgent agent)
    {
        foreach (var lane in agent.Lanes)
            foreach (var p in lane.Current?.Rx ?? [])
            {
                var inner = p is RenumberedPort r ? r.Inner : p;
                (inner as AfPacketPort)?.PollKernelStats();
                (inner as AfXdpPort)?.PollKernelStats();
            }
    }
}
