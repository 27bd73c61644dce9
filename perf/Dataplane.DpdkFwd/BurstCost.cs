using System.Globalization;
using System.Runtime.InteropServices;
using Dataplane.Benchmarks.Routing;
using Dataplane.Dpdk;
using Dataplane.Dpdk.Eal;
using Dataplane.Dpdk.Ethdev;
using Dataplane.Dpdk.Interop;

namespace Dataplane.DpdkFwd;

/// <summary>
/// What one rx burst call costs through each way of reaching DPDK's static-inline rte_eth_rx_burst from C#:
/// (a) the driver's function from the exported rte_eth_fp_ops via delegate* unmanaged (what DpdkPort does),
/// (b) the same with SuppressGCTransition, (c) a C shim compiled with gcc here that calls the inline function.
/// Measured on net_null (a burst of 32 fresh 64-byte mbufs, freed in bulk) and on an empty net_ring (the idle poll).
/// </summary>
internal static unsafe class BurstCost
{
    private const string Shim = """
        #include <rte_ethdev.h>
        uint16_t dp_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) {
          return rte_eth_rx_burst(port, queue, pkts, n);
        }
        """;

    public static int Run(List<string> userArgs)
    {
        string dir = Path.Combine(Path.GetTempPath(), "dpdk-fwd-shim-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        try
        {
            string so = Path.Combine(dir, "shim.so");
            File.WriteAllText(Path.Combine(dir, "shim.c"), Shim);
            Exec("sh", "-c", $"gcc -O2 -shared -fPIC $(pkg-config --cflags libdpdk) {dir}/shim.c -o {so} -lrte_ethdev");
            var shimRx = (delegate* unmanaged<ushort, ushort, rte_mbuf**, ushort, ushort>)NativeLibrary.GetExport(NativeLibrary.Load(so), "dp_rx_burst");

            var args = new List<string>(userArgs) { "--vdev", "net_null0,size=64", "--vdev", "net_ring0" };
            using var eal = DpdkEal.Init(args);
            using var pool = new MbufPool("burst_cost", 4095);
            using var nul = new EthDev(EthDev.FindPort("net_null0")!.Value, pool);
            using var ring = new EthDev(EthDev.FindPort("net_ring0")!.Value, pool);
            var mbufs = (rte_mbuf**)NativeMemory.AlignedAlloc(64 * (nuint)sizeof(void*), 64);
            double hz = Tsc.MeasureHz(TimeSpan.FromMilliseconds(200));
            const int Calls = 2_000_000;
            Console.WriteLine($"burst-cost: {Calls} calls each, tsc {hz / 1e6:F0} MHz; cycles per call (lower is better)");
            foreach (var (dev, what) in new[] { (nul, "net_null rx 32 + free_bulk"), (ring, "empty net_ring rx (idle poll)") })
            {
                rte_eth_fp_ops* ops = dev.FastPathOps;
                var rx = (delegate* unmanaged<void*, rte_mbuf**, ushort, ushort>)ops->rx_pkt_burst;
                var rxNoGc = (delegate* unmanaged[SuppressGCTransition]<void*, rte_mbuf**, ushort, ushort>)ops->rx_pkt_burst;
                void* q = ops->rxq_data[0];
                ushort port = dev.PortId;
                for (int round = 0; round < 2; round++) // the first round warms up (tiering, caches)
                {
                    ulong t0 = Tsc.Read();
                    for (int i = 0; i < Calls; i++) { int n = rx(q, mbufs, 32); if (n != 0) Rte.rte_pktmbuf_free_bulk(mbufs, (uint)n); }
                    ulong t1 = Tsc.Read();
                    for (int i = 0; i < Calls; i++) { int n = rxNoGc(q, mbufs, 32); if (n != 0) Rte.rte_pktmbuf_free_bulk(mbufs, (uint)n); }
                    ulong t2 = Tsc.Read();
                    for (int i = 0; i < Calls; i++) { int n = shimRx(port, 0, mbufs, 32); if (n != 0) Rte.rte_pktmbuf_free_bulk(mbufs, (uint)n); }
                    ulong t3 = Tsc.Read();
                    if (round == 1)
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"burst-cost: {what}: fp_ops {(double)(t1 - t0) / Calls:F1}, fp_ops+SuppressGCTransition {(double)(t2 - t1) / Calls:F1}, C shim {(double)(t3 - t2) / Calls:F1}"));
                }
            }
            NativeMemory.AlignedFree(mbufs);
            return 0;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static void Exec(string file, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new ArgumentException($"{file} {string.Join(' ', args)} failed: {err}");
    }
}
