using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Tests.Support;
using Xunit.Abstractions;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// 50 000 generated and mutated packets (seeded, so every run sends the same ones) through the C# pipeline and
/// the BPF program with conntrack on both sides (512 connections each, so the full-table path is taken too):
/// every packet must come out identical. Afterwards the BPF per-CPU counters must equal the C# worker's.
/// </summary>
public class GeneratedDifferentialTests(DatapathFixture fixture, ITestOutputHelper output) : IClassFixture<DatapathFixture>
{
    /// <summary>Policies with L3, L4, port ranges, ICMP, CIDRs, entities and denies over the conformance cluster.</summary>
    public const string Policies = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: db-policy, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: db}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: web}}]
            toPorts: [{ports: [{port: "5432", protocol: TCP}, {port: "6000", endPort: 6100, protocol: ANY}]}]
          - icmps: [{fields: [{type: 8, family: IPv4}, {type: 128, family: IPv6}]}]
          ingressDeny:
          - fromEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": dev}}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-egress, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          egress:
          - toEndpoints: [{matchLabels: {app: db}}]
          - toEntities: [world]
            toPorts: [{ports: [{port: "443", protocol: TCP}]}]
          - toCIDR: [198.18.0.0/16]
          egressDeny:
          - toCIDR: [203.0.113.0/24]
            toPorts: [{ports: [{port: "443", protocol: TCP}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: dns}
        spec:
          endpointSelector: {matchLabels: {"k8s:k8s-app": kube-dns}}
          ingress:
          - fromEntities: [cluster]
            toPorts: [{ports: [{port: "53", protocol: UDP}]}]
        """;

    [SkippableFact]
    public void FiftyThousandGeneratedPacketsAgree()
    {
        DatapathFixture.RequireRoot();
        using var cluster = new PolicyCluster(Policies);
        var dp = fixture.Tracked;
        using var dual = new DualPipeline(dp, cluster.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        dual.ResetBpfCounters();
        var gen = new PacketGenerator(cluster, seed: 20261126);
        var failures = new List<string>();
        int failed = 0;
        const int count = 50_000;
        for (int i = 0; i < count; i++)
        {
            var (frame, port, now) = gen.Next();
            string? diff = dual.Compare(frame, port, now);
            if (diff == null) continue;
            failed++;
            if (failures.Count < 8) failures.Add($"packet #{i}: {diff}");
        }
        var cs = dual.CsharpCounters;
        var bpf = EbpfCounters.Read(dp);
        output.WriteLine($"{fixture.Hook}: rx {cs.RxPackets}, tx {cs.TxPackets}, local {cs.LocalPackets}, not run (TC test run refuses) {dual.NotRunOnTc}, drops: " +
            string.Join(", ", bpf.Drops.OrderBy(d => d.Key).Select(d => $"{(int)d.Key}={d.Value.Packets}")));
        Assert.True(failed == 0, $"{failed} of {count} packets differ; first ones:\n{string.Join("\n", failures)}");
        // Truncated IP headers are a small part of the mutations; the rest of the corpus must run.
        Assert.True(dual.NotRunOnTc < count / 20, $"{dual.NotRunOnTc} of {count} frames could not be test-run on TC");
        Assert.Equal(cs.RxPackets, bpf.RxPackets);
        Assert.Equal(cs.RxBytes, bpf.RxBytes);
        Assert.Equal(cs.TxPackets, bpf.TxPackets);
        Assert.Equal(cs.TxBytes, bpf.TxBytes);
        Assert.Equal(cs.LocalPackets, bpf.LocalPackets);
        for (int r = 0; r < 256; r++)
        {
            var reason = (Core.Drops.DropReason)r;
            Assert.True(cs.Drops[r] == bpf.DropsOf(reason), $"drops {r}: C# {cs.Drops[r]}, BPF {bpf.DropsOf(reason)}");
        }
        AssertDirectionalDropsEqual(cs, bpf);
        // The run must have reached the interesting paths, not just the parser.
        foreach (var reason in new[] { 132, 133, 134, 135, 153, 155, 156, 169, 181, 196 })
            Assert.True(cs.Drops[reason] > 0, $"no packet was dropped with {reason}");
        Assert.True(cs.TxPackets > 5000 && cs.LocalPackets > 500, $"tx {cs.TxPackets}, local {cs.LocalPackets}");
    }

    /// <summary>
    /// The same generator over the same cluster with masquerade on and node-b reached over VXLAN: pod traffic to
    /// the world is SNATed (ports from the shared search), traffic to node-b's pods is encapsulated (flow-hash
    /// source ports, identity VNIs, MTU errors for the large frames), and everything else as before.
    /// </summary>
    [SkippableFact]
    public void TwentyThousandGeneratedPacketsAgreeWithMasqueradeAndVxlan()
    {
        DatapathFixture.RequireRoot();
        using var cluster = new PolicyCluster(Policies,
            dataplaneSpecExtra: "  masquerade: {nonMasqueradeCIDRs: [198.18.200.0/24]}\n  overlay: {mode: vxlan}\n");
        Assert.Empty(Maps.OffloadSupport.Unsupported(cluster.Snapshot));
        var dp = fixture.Tracked;
        using var dual = new DualPipeline(dp, cluster.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        dual.ResetBpfCounters();
        var gen = new PacketGenerator(cluster, seed: 20261127);
        var failures = new List<string>();
        int failed = 0, encapsulated = 0, snat = 0;
        const int count = 20_000;
        for (int i = 0; i < count; i++)
        {
            var (frame, port, now) = gen.Next();
            int notRun = dual.NotRunOnTc;
            string? diff = dual.Compare(frame, port, now);
            if (dual.NotRunOnTc != notRun) continue;
            var m = dual.LastCsharp.Meta;
            if (m.Verdict == Core.Packets.PacketVerdict.Tx && (m.Flags & Core.Packets.PacketFlags.TunnelEncap) != 0) encapsulated++;
            if (i % 500 == 0)
                snat += dp.Conntrack.Keys<Maps.CtKeyBpf>().Count(k => dp.Conntrack.TryLookup(k, out Maps.CtValueBpf v) && (v.Flags & 2) != 0);
            if (diff == null) continue;
            failed++;
            if (failures.Count < 8) failures.Add($"packet #{i}: {diff}");
        }
        var cs = dual.CsharpCounters;
        var bpf = EbpfCounters.Read(dp);
        Assert.True(dual.NotRunOnTc < count / 20, $"{dual.NotRunOnTc} of {count} frames could not be test-run on TC");
        output.WriteLine($"{fixture.Hook}: encapsulated {encapsulated}, SNAT entries seen {snat}, not run on TC {dual.NotRunOnTc}, rx {cs.RxPackets}, tx {cs.TxPackets}, drops: " +
            string.Join(", ", bpf.Drops.OrderBy(d => d.Key).Select(d => $"{(int)d.Key}={d.Value.Packets}")));
        Assert.True(failed == 0, $"{failed} of {count} packets differ; first ones:\n{string.Join("\n", failures)}");
        Assert.Equal(cs.TxPackets, bpf.TxPackets);
        Assert.Equal(cs.TxBytes, bpf.TxBytes);
        for (int r = 0; r < 256; r++)
            Assert.True(cs.Drops[r] == bpf.DropsOf((Core.Drops.DropReason)r), $"drops {r}: C# {cs.Drops[r]}, BPF {bpf.DropsOf((Core.Drops.DropReason)r)}");
        AssertDirectionalDropsEqual(cs, bpf);
        Assert.True(encapsulated > 100, $"only {encapsulated} packets were encapsulated");
        Assert.True(snat > 0, "no connection was SNATed");
    }

    /// <summary>Drops by direction and reason (cilium_drop_count_total's labels) equal on both sides.</summary>
    private static void AssertDirectionalDropsEqual(Core.Counters.WorkerCounters cs, EbpfCounters bpf)
    {
        for (int slot = 0; slot < Maps.DatapathLimits.DropSlots; slot++)
        {
            var key = ((Core.Packets.TrafficDirection)(slot / 256), (Core.Drops.DropReason)(slot % 256));
            ulong b = bpf.DirectionalDrops.GetValueOrDefault(key).Packets;
            Assert.True(cs.DirectionalDrops[slot] == b, $"drops {key}: C# {cs.DirectionalDrops[slot]}, BPF {b}");
        }
    }
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class GeneratedDifferentialTcTests(TcDatapathFixture fixture, ITestOutputHelper output) : GeneratedDifferentialTests(fixture, output), IClassFixture<TcDatapathFixture>;
