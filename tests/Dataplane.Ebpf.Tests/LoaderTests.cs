using System.Diagnostics;
using Dataplane.Core.Flows;
using Dataplane.Core.Tests.Policy;
using Dataplane.Ebpf.Flows;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>The loader's contract: flow events like the C# ring's, clear errors for full maps and verifier refusals.</summary>
public sealed class LoaderTests
{
    [Theory]
    [InlineData("")]
    // Translated and encapsulated packets too: SNATed sources, inner addresses of VXLAN, ICMP too-big errors.
    [InlineData("  masquerade: {nonMasqueradeCIDRs: [198.18.200.0/24]}\n  overlay: {mode: vxlan}\n")]
    public void FlowEventsFromTheRingBufferEqualTheCsharpPipelines(string dataplaneSpecExtra)
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(GeneratedDifferentialTests.Policies, dataplaneSpecExtra: dataplaneSpecExtra);
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = true, ConntrackMaxEntries = 64, TestRunMetadata = true, FlowEvents = true });
        var ring = new FlowRing(1024);
        using var dual = new DualPipeline(dp, c.Snapshot, 64, ring);
        using var reader = new EbpfFlowReader(dp);
        reader.Poll(0);
        var gen = new PacketGenerator(c, seed: 7);
        const int n = 1000;
        for (int i = 0; i < n; i++)
        {
            var (frame, port, now) = gen.Next();
            Assert.Null(dual.Compare(frame, port, now));
        }
        var events = new List<FlowEvent>();
        var sw = Stopwatch.StartNew();
        while (events.Count < n && sw.Elapsed < TimeSpan.FromSeconds(10)) events.AddRange(reader.Poll(100));
        Assert.Equal(n, events.Count);
        for (int i = 0; i < n; i++)
        {
            Assert.True(ring.TryRead(out FlowEvent expected));
            Assert.True(expected.Equals(events[i]), $"event {i}:\n  C#  {Dump(expected)}\n  BPF {Dump(events[i])}");
        }
        if (dataplaneSpecExtra.Length > 0)
            Assert.Contains(events, e => e.Verdict == Core.Packets.PacketVerdict.Tx && (e.Flags & Core.Packets.PacketFlags.TunnelEncap) != 0);
    }

    private static string Dump(FlowEvent e) =>
        string.Join(" ", typeof(FlowEvent).GetFields().Select(f => $"{f.Name}={f.GetValue(e)}"));

    [Fact]
    public void SnapshotThatDoesNotFitIsRefusedBeforeAnythingIsWritten()
    {
        DatapathFixture.RequireRoot();
        // 70 single ports from one peer: one (identity, protocol) key with more ranges than the map value holds.
        var ports = string.Join(", ", Enumerable.Range(0, 70).Select(i => $"{{port: \"{1000 + 2 * i}\", protocol: TCP}}"));
        string yaml = $$$"""
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: many-ports, namespace: prod}
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{{{ports}}}]}]}]
            """;
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = false, TestRunMetadata = true });
        using var small = new PolicyCluster("");
        MapFiller.Fill(dp, small.Snapshot, _ => 0);
        Assert.True(dp.Config.TryLookup(0u, out DpConfig before));
        int policyKeys = dp.Policy.Keys<PolicyKey>().Count;

        using var big = new PolicyCluster(yaml);
        var e = Assert.Throws<EbpfMapFullException>(() => MapFiller.Fill(dp, big.Snapshot, _ => 0));
        Assert.Equal("dp_policy", e.Map);
        Assert.Contains("70 port ranges", e.Message);
        Assert.True(dp.Config.TryLookup(0u, out DpConfig after));
        Assert.Equal(before.PortCount, after.PortCount);
        Assert.Equal(policyKeys, dp.Policy.Keys<PolicyKey>().Count);
    }

    [Fact]
    public void WithoutAPinDirectoryNoMapIsPinned()
    {
        // libbpf pins every LIBBPF_PIN_BY_NAME map under /sys/fs/bpf unless told otherwise: two unpinned loads
        // (parallel test classes, another process) would then share those maps.
        DatapathFixture.RequireRoot();
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = true, ConntrackMaxEntries = 64, TestRunMetadata = true });
        Assert.Empty(Directory.GetFiles("/sys/fs/bpf", "dp_*"));
        Assert.Empty(Directory.GetDirectories("/sys/fs/bpf", "dp_*"));
    }

    [Fact]
    public void VerifierRefusalIsAClearErrorWithTheVerifierLog()
    {
        DatapathFixture.RequireRoot();
        if (!File.Exists("/usr/bin/clang")) Assert.Fail("needs clang (.ci/run installs it)");
        // Reads a packet byte without checking the packet's end: the verifier must refuse it.
        string dir = Directory.CreateTempSubdirectory("dp-ebpf-bad-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "bad.c"), """
                #include <linux/bpf.h>
                #include <bpf/bpf_helpers.h>
                SEC("xdp") int dp_xdp(struct xdp_md *ctx) { return *(unsigned char *)(long)ctx->data; }
                char _license[] SEC("license") = "GPL";
                """);
            var clang = Process.Start(new ProcessStartInfo("/usr/bin/clang",
                ["-O2", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-I/usr/include/aarch64-linux-gnu", "-c", Path.Combine(dir, "bad.c"), "-o", Path.Combine(dir, "bad.o")])
                { RedirectStandardError = true })!;
            Assert.True(clang.WaitForExit(60_000) && clang.ExitCode == 0, clang.StandardError.ReadToEnd());
            var e = Assert.Throws<EbpfLoadException>(() => EbpfDatapath.Load(File.ReadAllBytes(Path.Combine(dir, "bad.o")), new EbpfOptions()));
            Assert.Contains("loading the eBPF datapath failed", e.Message);
            Assert.Contains("invalid access to packet", e.VerifierLog);
            Assert.Contains("invalid access to packet", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
