using Dataplane.Core.Tests.Support;
using Dataplane.Host.Observe;
using Dataplane.Node.Replay;
using Prometheus;

namespace Dataplane.Core.Tests.Observe;

/// <summary>
/// Observability as a user meets it: the example replay (scapy capture, example config) produces counters and
/// flow records; the Prometheus endpoint reports them under Cilium's metric names and labels, scraped over HTTP;
/// `observe` filters the flow records as `hubble observe` would.
/// </summary>
public class ObserveTests
{
    private static string ExampleDir => Path.Combine(Sh.RepoRoot, "examples", "replay");

    private static ReplayResult Replay(TempDir tmp)
    {
        var (exit, _, err) = Sh.Run(TimeSpan.FromSeconds(60), Sh.Python, [Path.Combine(ExampleDir, "make-pcap.py"), tmp["in.pcap"]]);
        Assert.True(exit == 0, "scapy failed: " + err);
        return Replayer.Run(Path.Combine(ExampleDir, "config"), tmp["in.pcap"], tmp["out.pcap"], tmp["flows.jsonl"], TextWriter.Null);
    }

    [Fact]
    public async Task MetricsEndpointServesCiliumDropAndForwardCounters()
    {
        using var tmp = new TempDir();
        var result = Replay(tmp);
        var registry = Metrics.NewCustomRegistry();
        var stages = Enum.GetNames<Dataplane.Core.Pipeline.StageId>();
        _ = new CiliumMetrics(registry, () => new MetricsSample(result.Counters, 3, 1024, 7, stages));

        int port = FreePort();
        using var endpoint = new MetricsEndpoint("127.0.0.1", port, registry);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        string text = await http.GetStringAsync(endpoint.Url);
        var values = Parse(text);

        // examples/replay: 10 packets, 5 forwarded (4 IP + the ARP reply), 5 dropped with five different reasons.
        Assert.Equal(1, values["cilium_drop_count_total{reason=\"Policy denied\",direction=\"EGRESS\"}"]);
        Assert.Equal(1, values["cilium_drop_count_total{reason=\"TTL exceeded\",direction=\"UNKNOWN\"}"]);
        Assert.Equal(1, values["cilium_drop_count_total{reason=\"Invalid source ip\",direction=\"EGRESS\"}"]);
        double drops = values.Where(kv => kv.Key.StartsWith("cilium_drop_count_total{", StringComparison.Ordinal)).Sum(kv => kv.Value);
        Assert.Equal(result.Dropped, (long)drops);
        double forwarded = values.Where(kv => kv.Key.StartsWith("cilium_forward_count_total{", StringComparison.Ordinal)).Sum(kv => kv.Value);
        Assert.Equal(result.Transmitted, (long)forwarded);
        Assert.Equal(2, values["cilium_forward_count_total{direction=\"INGRESS\"}"]);
        Assert.True(values["cilium_drop_bytes_total{reason=\"Policy denied\",direction=\"EGRESS\"}"] >= 54);
        Assert.Equal(10, values["dataplane_rx_packets_total"]);
        Assert.Equal(10, values["dataplane_stage_packets_total{stage=\"Parse\"}"]);
        // Each drop is counted against the stage that decided it, as VPP counts errors per node.
        Assert.Equal(1, values["dataplane_stage_drops_total{stage=\"Policy\"}"]);
        Assert.Equal(1, values["dataplane_stage_drops_total{stage=\"Endpoint\"}"]);
        Assert.True(values["dataplane_stage_drops_total{stage=\"Route\"}"] >= 1);
        double stageDrops = values.Where(kv => kv.Key.StartsWith("dataplane_stage_drops_total{", StringComparison.Ordinal)).Sum(kv => kv.Value);
        Assert.Equal(result.Dropped, (long)stageDrops);
        Assert.Equal(3, values["dataplane_conntrack_entries"]);
        Assert.Equal(7, values["dataplane_config_generation"]);

        // Counters only move forward between scrapes, as Prometheus expects.
        string again = await http.GetStringAsync(endpoint.Url);
        Assert.Equal(values["dataplane_rx_packets_total"], Parse(again)["dataplane_rx_packets_total"]);
    }

    /// <summary>observe's flags parsed as on the command line, applied to a flow file, printed in <paramref name="format"/>.</summary>
    private static string Observe(string file, string format, params string[] args)
    {
        var flags = new ObserveFlags();
        var command = new System.CommandLine.Command("observe");
        flags.AddTo(command);
        var parse = command.Parse([.. args, "-o", format]);
        Assert.Empty(parse.Errors);
        var query = Dataplane.Host.Hubble.FlowQuery.From(flags.Request(parse, DateTimeOffset.UtcNow, lastByDefault: false));
        using var input = new StreamReader(file);
        var output = new StringWriter();
        var errors = new StringWriter();
        new FlowPrinter(output, format).Copy(input, errors, query);
        Assert.Equal("", errors.ToString());
        return output.ToString();
    }

    [Fact]
    public void ObserveFiltersAFlowFileWithHubblesFlags()
    {
        using var tmp = new TempDir();
        Replay(tmp);
        string flows = tmp["flows.jsonl"];

        var dropped = Lines(Observe(flows, "json", "--verdict", "dropped"));
        Assert.Equal(5, dropped.Length);
        Assert.All(dropped, l => Assert.Contains("\"verdict\":\"DROPPED\"", l));

        var web = Lines(Observe(flows, "compact", "--pod", "shop/web"));
        Assert.NotEmpty(web);
        Assert.All(web, l => Assert.Contains("shop/web", l));
        Assert.Contains(web, l => l.Contains("FORWARDED", StringComparison.Ordinal) && l.Contains(":5432", StringComparison.Ordinal));
        // --namespace takes every pod of it; --from-pod only its sources; an unknown pod nothing.
        Assert.True(Lines(Observe(flows, "compact", "--namespace", "shop")).Length >= web.Length);
        Assert.All(Lines(Observe(flows, "compact", "--from-pod", "shop/web")), l => Assert.StartsWith("shop/web", l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]));
        Assert.Empty(Lines(Observe(flows, "compact", "--pod", "shop/nobody")));
        // Filters combine: the namespace's dropped flows carry the drop reason in the readable line.
        Assert.All(Lines(Observe(flows, "compact", "--verdict", "DROPPED", "--namespace", "shop")), l => Assert.Matches(@"DROPPED \([A-Z_]+\)", l));
        // --last keeps the newest; --port and --protocol as hubble's; table has its header once.
        Assert.Equal(dropped[^2..], Lines(Observe(flows, "json", "--verdict", "DROPPED", "--last", "2")));
        Assert.All(Lines(Observe(flows, "compact", "--port", "5432", "--protocol", "tcp")), l => Assert.Contains(":5432", l));
        var table = Lines(Observe(flows, "table", "--verdict", "DROPPED"));
        Assert.StartsWith("TIMESTAMP", table[0]);
        Assert.Equal(6, table.Length);
    }

    [Fact]
    public void ObserveReportsMalformedLinesAndKeepsGoing()
    {
        var input = new StringReader("not json\n{\"no_flow\":1}\n{\"flow\":{\"verdict\":\"FORWARDED\",\"IP\":{\"source\":\"198.18.0.1\",\"destination\":\"198.18.0.2\"}}}\n");
        var output = new StringWriter();
        var errors = new StringWriter();
        var query = Dataplane.Host.Hubble.FlowQuery.From(new Observer.GetFlowsRequest());
        int n = new FlowPrinter(output, "compact").Copy(input, errors, query);
        Assert.Equal(1, n);
        Assert.Contains("198.18.0.1 -> 198.18.0.2 FORWARDED", output.ToString());
        Assert.Contains("line 1", errors.ToString());
        Assert.Contains("line 2", errors.ToString());
    }

    [Fact]
    public void ExporterRotatesAndFollowingReaderSeesEveryFlowAcrossRotations()
    {
        using var tmp = new TempDir();
        var cfg = Dataplane.Control.Config.ConfigLoader.LoadDirectory(Path.Combine(ExampleDir, "config"));
        var snapshot = Dataplane.Control.Compiler.SnapshotCompiler.Compile(cfg);
        var ring = new Dataplane.Core.Flows.FlowRing(1024);
        string path = tmp["flows.jsonl"];
        using var tail = new StringWriter();
        int produced = 0;
        using (var exporter = new FlowExporter([ring], () => snapshot, new Dataplane.Host.Hubble.FlowRecords(""), path, maxBytes: 4096, maxBackups: 50))
        {
            using var reader = new TailReader(path);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int seen = 0;
            // Bounded: 200 events, 10 s.
            while (seen < 200 && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                if (produced < 200)
                {
                    ref var e = ref ring.TryClaim(out bool ok);
                    if (ok)
                    {
                        e = default;
                        e.Sequence = (ulong)produced; e.IpVersion = 4; e.Src = 0xC6120001; e.Dst = 0xC6120002 + (uint)produced;
                        e.Verdict = Dataplane.Core.Packets.PacketVerdict.Tx;
                        ring.Publish();
                        produced++;
                    }
                }
                string? line = reader.ReadLine();
                if (line == null) { Thread.Sleep(5); continue; }
                string want = $"\"destination\":\"{IpOf(0xC6120002 + (uint)seen)}\"";
                Assert.True(line.Contains(want, StringComparison.Ordinal), $"line {seen}: want {want}, got {line}");
                seen++;
            }
            Assert.Equal(200, seen);
            Assert.Equal(200, exporter.Written);
            Assert.Equal(0, exporter.Lost);
        }
        Assert.True(File.Exists(path + ".1"), "4 KiB limit: the exporter must have rotated");
    }

    private static string IpOf(uint a) => new System.Net.IPAddress(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(a)).ToString();

    private static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Sample lines of the Prometheus text format: "name{labels} value".</summary>
    private static Dictionary<string, double> Parse(string text) => Dataplane.Node.Lab.MetricsScrape.Parse(text);

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
