using System.Runtime.InteropServices;
using Dataplane.Core.Config;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Control;
using Dataplane.Core.Counters;
using Dataplane.Core.Drops;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Dpdk;
using Dataplane.Dpdk.Eal;
using Dataplane.Dpdk.Ethdev;
using Dataplane.Linux;
using Dataplane.Linux.AfPacket;
using Dataplane.Linux.AfXdp;

namespace Dataplane.Node.Run;

public enum Backend { AfPacket, AfXdp, Dpdk }

/// <summary>What `run` was asked to do.</summary>
public sealed record RunOptions(string ConfigDir, Backend Backend, int PollSleepMicros, int StatsIntervalSeconds,
    XdpAttachMode XdpMode = XdpAttachMode.Auto, int Queues = 1, int ConntrackMaxFlows = RunOptions.DefaultConntrackFlows,
    string? DpdkArgs = null)
{
    /// <summary>Cilium's default TCP CT map size (--bpf-ct-global-tcp-max), per worker here.</summary>
    public const int DefaultConntrackFlows = 524288;
}

/// <summary>
/// `dataplane-node run`: compiles the config, opens a port per node interface and per local pod interface that
/// exists in this network namespace, and forwards until SIGTERM/SIGINT; prints the counters on exit, on SIGUSR1,
/// and every <see cref="RunOptions.StatsIntervalSeconds"/> when set. One worker thread per queue: worker q
/// receives from queue q of every interface and transmits on queue q's sockets (AF_XDP: the interface's rx queue
/// q, one UMEM per worker; AF_PACKET: the q-th socket of a PACKET_FANOUT hash group per interface).
/// </summary>
public static class Runner
{
    private const int SIGUSR1 = 10;

    private sealed class Lane(int queue)
    {
        public int Queue { get; } = queue;
        public List<IPort> Ports { get; } = [];
        public List<int> Fds { get; } = [];
        public XdpUmem? Umem;
        public PollWaiter? Waiter;
        public PortWorker? Worker;
        public Thread? Thread;
    }

    public static int Run(RunOptions options, TextWriter log, CancellationToken stop = default)
    {
        var model = ConfigLoader.LoadDirectory(options.ConfigDir);
        var snapshot = SnapshotCompiler.Compile(model);
        int queues = Math.Max(1, options.Queues);

        var lanes = new List<Lane>();
        var programs = new Dictionary<ushort, XdpProgram>();
        DpdkSession? dpdk = null;
        try
        {
            // DPDK: EAL, pool and one started ethdev per interface it serves (see DpdkSession for the mapping).
            if (options.Backend == Backend.Dpdk)
            {
                dpdk = DpdkSession.Start(EalArgs.Split(options.DpdkArgs), snapshot.Ports.Select(p => p.Name), queues, NetDevice.Exists);
                log.WriteLine($"run: dpdk EAL {string.Join(' ', dpdk.Eal.Args)}; {dpdk.Pool.Count} mbufs");
            }
            var present = snapshot.Ports.Where(p => dpdk?.Serves(p.Name) ?? NetDevice.Exists(p.Name)).ToList();
            foreach (var p in snapshot.Ports.Except(present))
                log.WriteLine($"run: port {p.Id} {p.Name}: no such interface here, skipped");
            if (present.Count == 0)
            {
                log.WriteLine("run: none of the configured interfaces exists; nothing to forward");
                return 1;
            }
            var pipeline = new PacketPipeline(new SnapshotHolder(snapshot));
            for (int q = 0; q < queues; q++)
            {
                var lane = new Lane(q);
                lanes.Add(lane);
                var byId = new IPort?[snapshot.Ports.Length];
                // AF_XDP: one UMEM per worker, shared by all its sockets, so forwarding between ports is zero copy.
                if (options.Backend == Backend.AfXdp) lane.Umem = new XdpUmem(present.Count * 8192);
                foreach (var p in present)
                {
                    IPort port = Open(options, lane, programs, dpdk, p, queues, out int fd, out string mode);
                    byId[p.Id] = port;
                    lane.Ports.Add(port);
                    lane.Fds.Add(fd);
                    log.WriteLine($"run: port {p.Id} {p.Name} ({p.Kind}){(queues > 1 ? $" queue {q}" : "")}: {mode}");
                }
                lane.Waiter = new PollWaiter(lane.Fds);
                lane.Worker = new PortWorker(pipeline, new WorkerContext(q, conntrack: new ConntrackTable(options.ConntrackMaxFlows)), lane.Ports, byId,
                    new WorkerOptions { PollSleepMicros = options.PollSleepMicros }, lane.Waiter);
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
            using var onUsr1 = PosixSignalRegistration.Create((PosixSignal)SIGUSR1, c => { c.Cancel = true; Print(log, "stats", lanes); });

            Exception? failure = null;
            foreach (var lane in lanes)
            {
                var worker = lane.Worker!;
                lane.Thread = new Thread(() =>
                {
                    try
                    {
                        dpdk?.RegisterThread();
                        try { worker.Run(cts.Token); }
                        finally { dpdk?.UnregisterThread(); }
                    }
                    catch (Exception e) { failure = e; cts.Cancel(); }
                }) { Name = $"dp-worker-{lane.Queue}", IsBackground = true };
                lane.Thread.Start();
            }
            int portCount = lanes[0].Ports.Count;
            log.WriteLine($"run: forwarding on {portCount} port(s), backend {Name(options.Backend)}, {queues} worker(s), poll sleep {options.PollSleepMicros} us; SIGUSR1 prints counters, SIGTERM stops");
            log.Flush();

            var interval = options.StatsIntervalSeconds > 0 ? TimeSpan.FromSeconds(options.StatsIntervalSeconds) : Timeout.InfiniteTimeSpan;
            while (!cts.Token.WaitHandle.WaitOne(interval))
                Print(log, "stats", lanes);
            foreach (var lane in lanes)
                if (!lane.Thread!.Join(TimeSpan.FromSeconds(10)))
                {
                    log.WriteLine($"run: worker {lane.Queue} did not stop within 10 s");
                    return 1;
                }
            foreach (var port in lanes.SelectMany(l => l.Ports))
            {
                (port as AfPacketPort)?.PollKernelStats();
                (port as AfXdpPort)?.PollKernelStats();
            }
            Print(log, "exit", lanes);
            if (dpdk is not null) PrintDpdk(log, dpdk);
            if (failure is not null)
            {
                log.WriteLine($"run: worker failed: {failure}");
                return 1;
            }
            return 0;
        }
        finally
        {
            foreach (var lane in lanes)
            {
                lane.Worker?.Dispose();
                lane.Waiter?.Dispose();
                foreach (var port in lane.Ports) port.Dispose();
            }
            foreach (var program in programs.Values) program.Dispose();
            foreach (var lane in lanes) lane.Umem?.Dispose();
            dpdk?.Dispose();
        }
    }

    private static IPort Open(RunOptions options, Lane lane, Dictionary<ushort, XdpProgram> programs, DpdkSession? dpdk, PortInfo p, int queues,
        out int fd, out string mode)
    {
        switch (options.Backend)
        {
            case Backend.Dpdk:
                fd = -1; // no descriptor: the idle waiter just sleeps (ppoll ignores negative descriptors)
                mode = dpdk!.Describe(p.Name);
                return dpdk.OpenPort(p.Id, p.Name, lane.Queue);
            case Backend.AfXdp:
                // One XDP program (and XSKMAP) per interface, shared by its queues' sockets.
                if (!programs.TryGetValue(p.Id, out var program))
                    programs[p.Id] = program = new XdpProgram(NetDevice.IndexOf(p.Name), options.XdpMode);
                var xsk = new AfXdpPort(p.Id, p.Name, lane.Umem!, new AfXdpOptions { Queue = (uint)lane.Queue }, program);
                fd = xsk.Fd;
                mode = xsk.Describe();
                return xsk;
            case Backend.AfPacket:
                var port = new AfPacketPort(p.Id, p.Name,
                    new AfPacketOptions { FanoutGroup = queues > 1 ? (ushort)(NetDevice.IndexOf(p.Name) & 0xffff) : (ushort)0 });
                fd = port.Fd;
                mode = $"af_packet tpacket_v3 rx ring, sendmmsg tx{(port.QdiscBypass ? ", qdisc bypass" : "")}{(queues > 1 ? ", fanout hash" : "")}";
                return port;
            default:
                throw new ArgumentOutOfRangeException(nameof(options));
        }
    }

    public static string Name(Backend b) => b switch { Backend.AfPacket => "af_packet", Backend.AfXdp => "af_xdp", _ => "dpdk" };

    /// <summary>The drivers' own counters per DPDK device (rx missed = ring overruns, rx no mbuf = pool exhausted).</summary>
    private static void PrintDpdk(TextWriter log, DpdkSession dpdk)
    {
        foreach (var d in dpdk.Devices)
        {
            var s = d.Stats();
            log.WriteLine($"exit:   dpdk {d.Name}: rx {s.RxPackets}, tx {s.TxPackets}, rx-missed {s.RxMissed}, rx-errors {s.RxErrors}, tx-errors {s.TxErrors}, rx-no-mbuf {s.RxNoMbuf}");
        }
        log.WriteLine($"exit:   dpdk mbufs available {dpdk.Pool.Available} of {dpdk.Pool.Count}");
        log.Flush();
    }

    /// <summary>Prints the counters summed over the workers: totals, drops by Cilium reason, per-port figures (may be slightly stale).</summary>
    private static void Print(TextWriter log, string what, List<Lane> lanes)
    {
        var c = new WorkerCounters();
        ulong noPort = 0;
        foreach (var lane in lanes)
        {
            if (lane.Worker is null) continue;
            c.Add(lane.Worker.Context.Counters);
            noPort += lane.Worker.TxNoPort;
        }
        lock (log)
        {
            log.WriteLine($"{what}: rx {c.RxPackets} packets ({c.RxBytes} bytes), tx {c.TxPackets}, local {c.LocalPackets}, dropped {c.TotalDrops}, tx-no-port {noPort}");
            for (int r = 0; r < c.Drops.Length; r++)
                if (c.Drops[r] != 0)
                    log.WriteLine($"{what}:   drop {DropReasonNames.Describe((DropReason)r)} ({r}): {c.Drops[r]}");
            foreach (var lane in lanes)
                foreach (var p in lane.Ports)
                {
                    var s = p.Stats;
                    string q = lanes.Count > 1 ? $" queue {lane.Queue}" : "";
                    log.WriteLine($"{what}:   port {p.Name}{q}: rx {s.RxPackets}, tx {s.TxPackets}, tx-dropped {s.TxDropped}, rx-skipped {s.RxSkipped}, kernel-drops {s.KernelDrops}");
                }
            log.Flush();
        }
    }
}
