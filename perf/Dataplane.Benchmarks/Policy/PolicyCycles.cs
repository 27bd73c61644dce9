using System.Diagnostics;
using Dataplane.Benchmarks.Routing;
using Dataplane.Control.Compiler;
using Dataplane.Core.Policy;
using Dataplane.Core.Snapshot;

namespace Dataplane.Benchmarks.Policy;

/// <summary>
/// <c>policy-cycles</c> mode: for 10, 1 k and 10 k rules, the time to parse and to compile the config into a
/// snapshot, the snapshot swap, and TSC cycles per new-flow verdict (ipcache lookup + policy map lookup),
/// the number to compare with Cilium's one BPF hash lookup per packet.
/// Usage: <c>policy-cycles [rules…]</c>.
/// </summary>
internal static class PolicyCycles
{
    private const int Flows = 1 << 12, Iterations = 256;

    public static int Run(string[] args)
    {
        int[] sizes = args.Length > 0 ? [.. args.Select(int.Parse)] : [10, 1_000, 10_000];
        double hz = Tsc.MeasureHz(TimeSpan.FromMilliseconds(200));
        Console.WriteLine($"Counter: {(Tsc.IsHardware ? "rdtsc" : "Stopwatch")}, {hz / 1e9:F3} GHz");
        // CPU time beside wall time: on a shared machine wall time also counts what other processes took.
        Console.WriteLine("| rules | parse ms | parse cpu ms | compile ms | compile cpu ms | of which policy ms | swap ns | cycles/verdict | ns/verdict | map keys |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int rules in sizes)
        {
            var sw = Stopwatch.StartNew();
            var cpu = Environment.CpuUsage.TotalTime;
            var model = PolicyWorkload.Load(rules);
            double parseMs = sw.Elapsed.TotalMilliseconds, parseCpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds;
            // Second of two runs each, so JIT time is not counted.
            var snapshot = SnapshotCompiler.Compile(model);
            sw.Restart();
            cpu = Environment.CpuUsage.TotalTime;
            snapshot = SnapshotCompiler.Compile(model);
            double compileMs = sw.Elapsed.TotalMilliseconds, compileCpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds;
            GC.KeepAlive(PolicyCompiler.Compile(model, [null, model.Pods[0]]));
            sw.Restart();
            var state = PolicyCompiler.Compile(model, [null, model.Pods[0]]);
            double policyMs = sw.Elapsed.TotalMilliseconds;
            GC.KeepAlive(state);

            // A policy update as the agent applies it: recompiled against the running snapshot, whose routing
            // tables are reused (routes did not change).
            sw.Restart();
            var next = SnapshotCompiler.Compile(model, 2, previous: snapshot);
            double recompileMs = sw.Elapsed.TotalMilliseconds;
            Console.Error.WriteLine($"policy-cycles: {rules} rules: snapshot recompile reusing routing tables {recompileMs:F1} ms");
            var holder = new SnapshotHolder(snapshot);
            holder.Swap(next);
            long t0 = Stopwatch.GetTimestamp();
            holder.Swap(snapshot);
            double swapNs = (Stopwatch.GetTimestamp() - t0) * 1e9 / Stopwatch.Frequency;

            var map = snapshot.IngressPolicy[1];
            var ipc = snapshot.IpCache;
            var rnd = new Random(5);
            var peers = new uint[Flows]; var ports = new ushort[Flows];
            for (int i = 0; i < Flows; i++)
            {
                int r = rnd.Next(rules);
                peers[i] = Dataplane.Core.Routing.RoutePrefix.ToUInt32(System.Net.IPAddress.Parse(PolicyWorkload.Peer(r)));
                ports[i] = (ushort)(i % 4 == 3 ? 80 : 1024 + r % 60000);
            }
            int allowed = 0;
            // Warm up past tiered compilation (tier-1 is compiled in the background).
            for (int w = 0; w < 64; w++) allowed += Verdicts(ipc, map, peers, ports);
            Thread.Sleep(300);
            for (int w = 0; w < 64; w++) allowed += Verdicts(ipc, map, peers, ports);
            ulong best = ulong.MaxValue;
            for (int it = 0; it < Iterations; it++)
            {
                ulong b = Tsc.Read();
                allowed += Verdicts(ipc, map, peers, ports);
                ulong c = Tsc.Read() - b;
                if (c < best) best = c;
            }
            double cycles = (double)best / Flows;
            Console.WriteLine($"| {rules} | {parseMs:F1} | {parseCpuMs:F0} | {compileMs:F1} | {compileCpuMs:F0} | {policyMs:F1} | {swapNs:F0} | {cycles:F1} | {cycles / hz * 1e9:F1} | {map.KeyCount} |");
            GC.KeepAlive(allowed);
        }
        return 0;
    }

    private static int Verdicts(Dataplane.Core.IpCache.IpCacheMap ipc, PolicyMap map, uint[] peers, ushort[] ports)
    {
        int allowed = 0;
        for (int i = 0; i < peers.Length; i++)
            if (map.Lookup(ipc.Lookup4(peers[i]), 6, ports[i], out _) == PolicyVerdict.Allowed) allowed++;
        return allowed;
    }
}
