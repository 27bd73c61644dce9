using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Core.Tests.Support;
using Dataplane.Host.Observe;
using Prometheus;

namespace Dataplane.Core.Tests.Observe;

/// <summary>
/// Issue 23 item 3, the exporter alone: a ring that never drains (a flood) still rotates at the size limit; drop
/// events beyond the rate limit are counted, not written; a write that fails (a full device) is counted with its
/// events and never thrown, and the figures reach the metrics.
/// </summary>
public sealed class FlowExportFaultTests
{
    private static readonly DatapathSnapshotFixture Snapshot = new();
    private static readonly Dataplane.Host.Hubble.FlowRecords Records = new("");

    private static void Publish(FlowRing ring, int n, PacketVerdict verdict)
    {
        ref var e = ref ring.TryClaim(out bool ok);
        if (!ok) return;
        e = default;
        e.Sequence = (ulong)n; e.IpVersion = 4; e.Src = 0xC6120001; e.Dst = 0xC6120002 + (uint)(n & 0xFFFF);
        e.Verdict = verdict;
        ring.Publish();
    }

    [Fact]
    public void RotatesBySizeWhileTheRingNeverDrains()
    {
        using var tmp = new TempDir();
        string path = tmp["flows.jsonl"];
        var ring = new FlowRing(1024);
        const long max = 64 << 10;
        int chunk;
        long produced = 0;
        using (var exporter = new FlowExporter([ring], Snapshot.Get, Records, path, maxBytes: max, maxBackups: 3))
        {
            chunk = exporter.ChunkBytes;
            // A producer far faster than the exporter, until four files were filled (bounded): the ring is never empty.
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!File.Exists(path + ".3") && DateTime.UtcNow < until) for (int i = 0; i < 256; i++) Publish(ring, (int)produced++, PacketVerdict.Tx);
            Assert.True(ring.Lost > 0, "the ring drained: not the flood this test is about");
            Assert.True(File.Exists(path + ".3"), "no rotation while the ring was busy");
        }
        Assert.False(File.Exists(path + ".4"));
        foreach (var f in Directory.GetFiles(tmp.Path))
            Assert.True(new FileInfo(f).Length <= max + chunk, $"{f}: {new FileInfo(f).Length} bytes, limit {max} + {chunk}");
    }

    [Fact]
    public void DropEventsBeyondTheRateAreCountedNotWritten()
    {
        using var tmp = new TempDir();
        string path = tmp["flows.jsonl"];
        var ring = new FlowRing(8192);
        for (int i = 0; i < 5000; i++) Publish(ring, i, PacketVerdict.Drop);
        for (int i = 0; i < 100; i++) Publish(ring, 5000 + i, PacketVerdict.Tx);
        var started = DateTime.UtcNow;
        using var exporter = new FlowExporter([ring], Snapshot.Get, Records, path, dropRate: 100);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (exporter.Written + exporter.RateLimited < 5100 && DateTime.UtcNow < until) Thread.Sleep(10);
        double seconds = (DateTime.UtcNow - started).TotalSeconds;
        Assert.Equal(5100, exporter.Written + exporter.RateLimited);
        // The burst (100) plus what the bucket refilled meanwhile; every forwarded event is written.
        Assert.InRange(exporter.Written, 200, 200 + (long)(seconds * 100) + 1);
        Assert.Equal(0, exporter.Unwritten);
    }

    [SkippableFact]
    public void AFullDeviceIsCountedAndTheExporterKeepsGoing()
    {
        Skip.IfNot(File.Exists("/dev/full"), "no /dev/full");
        var ring = new FlowRing(1024);
        using var exporter = new FlowExporter([ring], Snapshot.Get, Records, "/dev/full", dropRate: 0);
        for (int i = 0; i < 50; i++) Publish(ring, i, PacketVerdict.Tx);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (exporter.Unwritten < 50 && DateTime.UtcNow < until) Thread.Sleep(10);
        Assert.Equal(50, exporter.Unwritten);
        Assert.Equal(0, exporter.Written);
        Assert.True(exporter.WriteErrors >= 1);
        Assert.Contains("No space left on device", exporter.LastError);

        // The next events a second later: retried, failed again, counted again — the thread is alive.
        for (int i = 0; i < 10; i++) Publish(ring, 100 + i, PacketVerdict.Tx);
        while (exporter.Unwritten < 60 && DateTime.UtcNow < until) Thread.Sleep(10);
        Assert.Equal(60, exporter.Unwritten);

        var registry = Metrics.NewCustomRegistry();
        _ = new CiliumMetrics(registry, () => new MetricsSample(new Dataplane.Core.Counters.WorkerCounters(), 0, 0, 1, [], exporter.Status()));
        using var text = new MemoryStream();
        registry.CollectAndExportAsTextAsync(text).GetAwaiter().GetResult();
        string metrics = System.Text.Encoding.UTF8.GetString(text.ToArray());
        Assert.Contains("dataplane_flow_events_total{outcome=\"unwritten\"} 60", metrics);
        Assert.Matches(@"dataplane_flow_export_write_errors_total [1-9]", metrics);
    }

    /// <summary>The example config's snapshot, compiled once.</summary>
    private sealed class DatapathSnapshotFixture
    {
        private readonly Lazy<Dataplane.Core.Snapshot.DatapathSnapshot> _snapshot = new(() =>
            Dataplane.Control.Compiler.SnapshotCompiler.Compile(
                Dataplane.Control.Config.ConfigLoader.LoadDirectory(Path.Combine(Sh.RepoRoot, "examples", "replay", "config"))));

        public Dataplane.Core.Snapshot.DatapathSnapshot Get() => _snapshot.Value;
    }
}
