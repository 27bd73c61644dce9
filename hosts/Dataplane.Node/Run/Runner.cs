using System.Runtime.InteropServices;
using Dataplane.Core.Config;
using Dataplane.Core.Control;
using Dataplane.Core.Counters;
using Dataplane.Core.Drops;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Linux;
using Dataplane.Linux.AfPacket;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Node.Run;

public enum Backend { AfPacket, AfXdp }

/// <summary>What `run` was asked to do.</summary>
public sealed record RunOptions(string ConfigDir, Backend Backend, int PollSleepMicros, int StatsIntervalSeconds,
    XdpAttachMode XdpMode = XdpAttachMode.Auto);

/// <summary>
/// `dataplane-node run`: compiles the config, opens a port per node interface and per local pod interface that
/// exists in this network namespace, and forwards on one worker until SIGTERM/SIGINT; prints the counters on
/// exit, on SIGUSR1, and every <see cref="RunOptions.StatsIntervalSeconds"/> when set.
/// </summary>
public static class Runner
{
    private const int SIGUSR1 = 10;

    public static int Run(RunOptions options, TextWriter log, CancellationToken stop = default)
    {
        var model = ConfigLoader.LoadDirectory(options.ConfigDir);
        var snapshot = SnapshotCompiler.Compile(model);

        var byId = new IPort?[snapshot.Ports.Length];
        var opened = new List<IPort>();
        var fds = new List<int>();
        XdpUmem? umem = null;
        try
        {
            var present = snapshot.Ports.Where(p => NetDevice.Exists(p.Name)).ToList();
            // AF_XDP: one UMEM for the worker, shared by all its sockets, so forwarding between ports is zero copy.
            if (options.Backend == Backend.AfXdp && present.Count > 0) umem = new XdpUmem(present.Count * 8192);
            foreach (var p in snapshot.Ports)
            {
                if (!present.Contains(p))
                {
                    log.WriteLine($"run: port {p.Id} {p.Name}: no such interface here, skipped");
                    continue;
                }
                IPort port = Open(options, umem, p, out int fd, out string mode);
                byId[p.Id] = port;
                opened.Add(port);
                fds.Add(fd);
                log.WriteLine($"run: port {p.Id} {p.Name} ({p.Kind}): {mode}");
            }
            if (opened.Count == 0)
            {
                log.WriteLine("run: none of the configured interfaces exists; nothing to forward");
                return 1;
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var ctx = new WorkerContext(0);
            using var waiter = new PollWaiter(fds);
            using var worker = new PortWorker(new PacketPipeline(new SnapshotHolder(snapshot)), ctx, opened, byId,
                new WorkerOptions { PollSleepMicros = options.PollSleepMicros }, waiter);

            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
            using var onUsr1 = PosixSignalRegistration.Create((PosixSignal)SIGUSR1, c => { c.Cancel = true; Print(log, "stats", ctx.Counters, worker, opened); });

            Exception? failure = null;
            var thread = new Thread(() =>
            {
                try { worker.Run(cts.Token); }
                catch (Exception e) { failure = e; cts.Cancel(); }
            }) { Name = "dp-worker-0", IsBackground = true };
            thread.Start();
            log.WriteLine($"run: forwarding on {opened.Count} port(s), backend {Name(options.Backend)}, poll sleep {options.PollSleepMicros} us; SIGUSR1 prints counters, SIGTERM stops");
            log.Flush();

            var interval = options.StatsIntervalSeconds > 0 ? TimeSpan.FromSeconds(options.StatsIntervalSeconds) : Timeout.InfiniteTimeSpan;
            while (!cts.Token.WaitHandle.WaitOne(interval))
                Print(log, "stats", ctx.Counters, worker, opened);
            if (!thread.Join(TimeSpan.FromSeconds(10)))
            {
                log.WriteLine("run: worker did not stop within 10 s");
                return 1;
            }
            foreach (var port in opened)
            {
                (port as AfPacketPort)?.PollKernelStats();
                (port as AfXdpPort)?.PollKernelStats();
            }
            Print(log, "exit", ctx.Counters, worker, opened);
            if (failure is not null)
            {
                log.WriteLine($"run: worker failed: {failure}");
                return 1;
            }
            return 0;
        }
        finally
        {
            foreach (var port in opened) port.Dispose();
            umem?.Dispose();
        }
    }

    private static IPort Open(RunOptions options, XdpUmem? umem, PortInfo p, out int fd, out string mode)
    {
        switch (options.Backend)
        {
            case Backend.AfXdp:
                var xsk = new AfXdpPort(p.Id, p.Name, umem!, new AfXdpOptions { AttachMode = options.XdpMode });
                fd = xsk.Fd;
                mode = xsk.Describe();
                return xsk;
            case Backend.AfPacket:
                var port = new AfPacketPort(p.Id, p.Name);
                fd = port.Fd;
                mode = $"af_packet tpacket_v3 rx ring, sendmmsg tx{(port.QdiscBypass ? ", qdisc bypass" : "")}";
                return port;
            default:
                throw new ArgumentOutOfRangeException(nameof(options));
        }
    }

    public static string Name(Backend b) => b == Backend.AfPacket ? "af_packet" : "af_xdp";

    /// <summary>Prints the counters: totals, drops by Cilium reason, per-port figures. Values may be slightly stale.</summary>
    public static void Print(TextWriter log, string what, WorkerCounters c, PortWorker worker, IReadOnlyList<IPort> ports)
    {
        lock (log)
        {
            log.WriteLine($"{what}: rx {c.RxPackets} packets ({c.RxBytes} bytes), tx {c.TxPackets}, local {c.LocalPackets}, dropped {c.TotalDrops}, tx-no-port {worker.TxNoPort}");
            for (int r = 0; r < c.Drops.Length; r++)
                if (c.Drops[r] != 0)
                    log.WriteLine($"{what}:   drop {DropReasonNames.Describe((DropReason)r)} ({r}): {c.Drops[r]}");
            foreach (var p in ports)
            {
                var s = p.Stats;
                log.WriteLine($"{what}:   port {p.Name}: rx {s.RxPackets}, tx {s.TxPackets}, tx-dropped {s.TxDropped}, rx-skipped {s.RxSkipped}, kernel-drops {s.KernelDrops}");
            }
            log.Flush();
        }
    }
}
