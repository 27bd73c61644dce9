using System.Globalization;
using System.Runtime.InteropServices;
using Dataplane.Benchmarks.Routing;
using Dataplane.Control.Config;
using Dataplane.Core.Conntrack;
using Dataplane.Control.Compiler;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Ports;
using Dataplane.Core.Snapshot;
using Dataplane.Dpdk;
using Dataplane.Dpdk.Eal;
using Dataplane.DpdkFwd;

// dpdk-fwd MODE [--config DIR] [--dpdk-args "..."] [--seconds N]
//   io        forward port 2k <-> 2k+1 through our DpdkPort (rx burst, tx burst, release): testpmd's io mode in C#
//   pipeline  the full pipeline over the config as dataplane-node run (PortWorker's steps), timing the pipeline apart
//   burst-cost  cycles per rx/tx burst call: rte_eth_fp_ops through delegate* unmanaged vs a gcc-built C shim
// io/pipeline busy-poll until SIGINT/SIGTERM or --seconds and print, like testpmd --record-core-cycles, the
// cycles spent in iterations that received something divided by the packets received.
string mode = args.Length > 0 ? args[0] : "";
string? config = Opt("--config");
string dpdkArgs = Opt("--dpdk-args") ?? "";
int seconds = int.Parse(Opt("--seconds") ?? "3600", CultureInfo.InvariantCulture);
try
{
    return mode switch
    {
        "io" or "pipeline" => Forward.Run(mode, config ?? throw new ArgumentException("--config DIR is required"), EalArgs.Split(dpdkArgs), seconds),
        "burst-cost" => BurstCost.Run(EalArgs.Split(dpdkArgs)),
        _ => Usage(),
    };
}
catch (Exception e) when (e is DpdkException or ConfigException or ArgumentException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

string? Opt(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static int Usage()
{
    Console.Error.WriteLine("usage: dpdk-fwd io|pipeline --config DIR [--dpdk-args \"...\"] [--seconds N] | dpdk-fwd burst-cost [--dpdk-args \"...\"]");
    return 2;
}

namespace Dataplane.DpdkFwd
{
    internal static class Forward
    {
        public static int Run(string mode, string configDir, List<string> ealArgs, int seconds)
        {
            var snapshot = SnapshotCompiler.Compile(ConfigLoader.LoadDirectory(configDir));
            using var session = DpdkSession.Start(ealArgs, snapshot.Ports.Select(p => p.Name), 1, name => Directory.Exists("/sys/class/net/" + name));
            var present = snapshot.Ports.Where(p => session.Serves(p.Name)).ToList();
            var ports = present.Select(p => (IPort)session.OpenPort(p.Id, p.Name, 0)).ToList();
            var byId = new IPort?[snapshot.Ports.Length];
            foreach (var p in ports) byId[p.Id] = p;
            Console.WriteLine($"dpdk-fwd: {mode} over {string.Join(", ", ports.Select(p => p.Name))}; EAL {string.Join(' ', session.Eal.Args)}");
            Console.Out.Flush();

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            double hz = Tsc.MeasureHz(TimeSpan.FromMilliseconds(200));
            ulong busy = 0, packets = 0;
            var t = new Thread(() =>
            {
                session.RegisterThread();
                try
                {
                    if (mode == "io") (busy, packets) = IoLoop(ports, stop.Token);
                    else (busy, packets) = PipelineLoop(snapshot, ports, byId, stop.Token);
                }
                finally { session.UnregisterThread(); }
            }) { Name = "dpdk-fwd" };
            Console.WriteLine("dpdk-fwd: forwarding");
            Console.Out.Flush();
            t.Start();
            t.Join();
            foreach (var p in ports) p.Dispose();
            ulong tx = (ulong)ports.Sum(p => (long)p.Stats.TxPackets), dropped = (ulong)ports.Sum(p => (long)p.Stats.TxDropped);
            double cpp = packets > 0 ? (double)busy / packets : 0;
            double pcp = packets > 0 ? (double)PipelineCycles / packets : 0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"dpdk-fwd: {mode} rx {packets} tx {tx} tx-dropped {dropped} busy-cycles {busy} cycles/packet {cpp:F1} ns/packet {cpp / hz * 1e9:F1} pipeline-cycles/packet {pcp:F1} mean-batch {(Bursts > 0 ? (double)packets / Bursts : 0):F1} tsc {hz / 1e6:F0} MHz"));
            return 0;
        }

        /// <summary>Port 2k ↔ 2k+1, one rx burst each per round; busy cycles counted only for bursts that received.</summary>
        private static (ulong Busy, ulong Packets) IoLoop(List<IPort> ports, CancellationToken token)
        {
            using var batch = new Batch();
            var all = new ushort[Batch.MaxSize];
            for (int i = 0; i < all.Length; i++) all[i] = (ushort)i;
            ulong busy = 0, packets = 0;
            int n = ports.Count & ~1;
            while (!token.IsCancellationRequested)
            {
                for (int i = 0; i < n; i++)
                {
                    ulong t0 = Tsc.Read();
                    batch.Count = 0;
                    int got = ports[i].RxBurst(batch);
                    if (got == 0) continue;
                    ports[i ^ 1].TxBurst(batch, all.AsSpan(0, got));
                    ports[i].Release(batch, 0, got);
                    busy += Tsc.Read() - t0;
                    packets += (ulong)got;
                    Bursts++;
                }
            }
            return (busy, packets);
        }

        /// <summary>
        /// PortWorker's iteration spelled out (rx from every port into one batch, pipeline, tx per output port,
        /// release) so the pipeline's own cycles can be timed apart from the I/O around it.
        /// </summary>
        private static (ulong Busy, ulong Packets) PipelineLoop(DatapathSnapshot snapshot, List<IPort> ports, IPort?[] byId, CancellationToken token)
        {
            var pipeline = new PacketPipeline(new SnapshotHolder(snapshot));
            var context = new WorkerContext(0, conntrack: new ConntrackTable(65536));
            using var batch = new Batch();
            var start = new int[ports.Count];
            var count = new int[ports.Count];
            var txIndex = new ushort[byId.Length][];
            var txCount = new int[byId.Length];
            for (int i = 0; i < txIndex.Length; i++) txIndex[i] = new ushort[Batch.MaxSize];
            ulong busy = 0, packets = 0, pipe = 0;
            while (!token.IsCancellationRequested)
            {
                ulong t0 = Tsc.Read();
                batch.Count = 0;
                for (int i = 0; i < ports.Count; i++) { start[i] = batch.Count; count[i] = ports[i].RxBurst(batch); }
                int n = batch.Count;
                if (n == 0) continue;
                ulong t1 = Tsc.Read();
                pipeline.Process(batch, context);
                ulong t2 = Tsc.Read();
                for (int i = 0; i < n; i++)
                {
                    ref PacketMeta m = ref batch[i];
                    if (m.Verdict != PacketVerdict.Tx || m.OutPort >= byId.Length || byId[m.OutPort] is null) continue;
                    txIndex[m.OutPort][txCount[m.OutPort]++] = (ushort)i;
                }
                for (int p = 0; p < byId.Length; p++)
                    if (txCount[p] != 0) { byId[p]!.TxBurst(batch, txIndex[p].AsSpan(0, txCount[p])); txCount[p] = 0; }
                for (int i = 0; i < ports.Count; i++) ports[i].Release(batch, start[i], count[i]);
                ulong t3 = Tsc.Read();
                busy += t3 - t0;
                pipe += t2 - t1;
                packets += (ulong)n;
                Bursts++;
            }
            PipelineCycles = pipe;
            return (busy, packets);
        }

        /// <summary>Iterations that received packets (packets / bursts = the mean batch).</summary>
        public static ulong Bursts;

        /// <summary>Cycles spent inside PacketPipeline.Process (pipeline mode).</summary>
        public static ulong PipelineCycles;
    }
}
