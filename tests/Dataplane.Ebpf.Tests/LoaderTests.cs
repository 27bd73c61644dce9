using System.Diagnostics;
using Dataplane.Core.Flows;
using Dataplane.Ebpf.Flows;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>The loader's contract: flow events like the C# ring's, clear errors for full maps and verifier refusals.</summary>
public sealed class LoaderTests
{
    private const string MasqueradeAndVxlan = "  masquerade: {nonMasqueradeCIDRs: [198.18.200.0/24]}\n  overlay: {mode: vxlan}\n";

    [SkippableTheory]
    [InlineData("", BpfHook.Xdp)]
    [InlineData("", BpfHook.Tc)]
    // Translated and encapsulated packets too: SNATed sources, inner addresses of VXLAN, ICMP too-big errors.
    [InlineData(MasqueradeAndVxlan, BpfHook.Xdp)]
    [InlineData(MasqueradeAndVxlan, BpfHook.Tc)]
    public void FlowEventsFromTheRingBufferEqualTheCsharpPipelines(string dataplaneSpecExtra, BpfHook hook)
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(GeneratedDifferentialTests.Policies, dataplaneSpecExtra: dataplaneSpecExtra);
        using var dp = EbpfDatapath.Load(new EbpfOptions
        {
            Conntrack = true, ConntrackMaxEntries = 64, TestRunMetadata = true, FlowEvents = true, TcProgram = hook == BpfHook.Tc,
        });
        var ring = new FlowRing(1024);
        using var dual = new DualPipeline(dp, c.Snapshot, 64, ring) { Hook = hook };
        using var reader = new EbpfFlowReader(dp);
        reader.Poll(0);
        var gen = new PacketGenerator(c, seed: 7);
        const int n = 1000;
        for (int i = 0; i < n; i++)
        {
            var (frame, port, now) = gen.Next();
            Assert.Null(dual.Compare(frame, port, now));
        }
        // Frames the TC test run refuses ran on neither side: no event on either.
        int ran = n - dual.NotRunOnTc;
        var events = new List<FlowEvent>();
        var sw = Stopwatch.StartNew();
        while (events.Count < ran && sw.Elapsed < TimeSpan.FromSeconds(10)) events.AddRange(reader.Poll(100));
        Assert.Equal(ran, events.Count);
        Assert.True(ran > n * 9 / 10, $"only {ran} of {n} frames ran");
        for (int i = 0; i < ran; i++)
        {
            Assert.True(ring.TryRead(out FlowEvent expected));
            // The ring buffer's events carry no Ethernet addresses (FlowEvent.SrcMac/DstMac stay 0 from eBPF, so a
            // Hubble flow from that backend has no `ethernet`): everything else must be equal.
            Assert.Equal(0ul, events[i].SrcMac | events[i].DstMac);
            expected.SrcMac = expected.DstMac = 0;
            Assert.True(expected.Equals(events[i]), $"event {i}:\n  C#  {Dump(expected)}\n  BPF {Dump(events[i])}");
        }
        if (dataplaneSpecExtra.Length > 0)
            Assert.Contains(events, e => e.Verdict == Core.Packets.PacketVerdict.Tx && (e.Flags & Core.Packets.PacketFlags.TunnelEncap) != 0);
    }

    /// <summary>
    /// The TC object takes over the XDP object's maps: a connection the XDP program opens is known to the TC
    /// program (its reply is Reply, not a new connection checked by policy), and the other way round.
    /// </summary>
    [SkippableFact]
    public void TcAndXdpProgramsShareConntrack()
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(GeneratedDifferentialTests.Policies);
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = true, ConntrackMaxEntries = 64, TestRunMetadata = true, TcProgram = true });
        MapFiller.Fill(dp, c.Snapshot, _ => 1);
        foreach (var (opener, replier) in new[] { (BpfHook.Xdp, BpfHook.Tc), (BpfHook.Tc, BpfHook.Xdp) })
        {
            ushort sport = opener == BpfHook.Xdp ? (ushort)40001 : (ushort)40002;
            var (syn, inPort) = ProbeFrames.Build(c, "prod/web", "prod/db", "tcp", 5432, sport: sport);
            var open = dp.TestRun(syn, inPort, 1_000_000, opener);
            Assert.Equal((byte)Core.Packets.CtState.New, open.Verdict.CtState);
            Assert.Equal((byte)Core.Packets.PacketVerdict.Tx, open.Verdict.Verdict);
            var (reply, replyPort) = ProbeFrames.Build(c, "prod/db", "prod/web", "tcp", sport, sport: 5432, tcpFlags: 0x12);
            var back = dp.TestRun(reply, replyPort, 1_000_001, replier);
            Assert.Equal((byte)Core.Packets.CtState.Reply, back.Verdict.CtState);
            Assert.Equal((byte)Core.Packets.PacketVerdict.Tx, back.Verdict.Verdict);
        }
        Assert.Equal(2, ConntrackGc.Count(dp));
    }

    [SkippableFact]
    public void TcAttachErrorsAreClear()
    {
        DatapathFixture.RequireRoot();
        using (var xdpOnly = EbpfDatapath.Load(new EbpfOptions { Conntrack = false }))
        {
            Assert.Equal(-1, xdpOnly.TcProgramFd);
            var e = Assert.Throws<InvalidOperationException>(() => xdpOnly.AttachTcIngress(1));
            Assert.Contains("TcProgram", e.Message);
            Assert.Throws<InvalidOperationException>(() => xdpOnly.TestRun(new byte[60], 0, 0, BpfHook.Tc));
        }
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = false, TcProgram = true });
        Assert.True(dp.TcProgramFd > 0);
        var err = Assert.Throws<EbpfMapException>(() => dp.AttachTcIngress(0x3fff_fff0));
        Assert.Contains("tcx ingress", err.Message);
        Assert.Contains("errno", err.Message);
    }

    private static string Dump(FlowEvent e) =>
        string.Join(" ", typeof(FlowEvent).GetFields().Select(f => $"{f.Name}={f.GetValue(e)}"));

    [SkippableFact]
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

    [SkippableFact]
    public void WithoutAPinDirectoryNoMapIsPinned()
    {
        // libbpf pins every LIBBPF_PIN_BY_NAME map under /sys/fs/bpf unless told otherwise: two unpinned loads
        // (parallel test classes, another process) would then share those maps.
        DatapathFixture.RequireRoot();
        using var dp = EbpfDatapath.Load(new EbpfOptions { Conntrack = true, ConntrackMaxEntries = 64, TestRunMetadata = true });
        Assert.Empty(Directory.GetFiles("/sys/fs/bpf", "dp_*"));
        Assert.Empty(Directory.GetDirectories("/sys/fs/bpf", "dp_*"));
    }

    [SkippableFact]
    public void VerifierRefusalIsAClearErrorWithTheVerifierLog()
    {
        DatapathFixture.RequireRoot();
        Requires.Tools("/usr/bin/clang");
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
