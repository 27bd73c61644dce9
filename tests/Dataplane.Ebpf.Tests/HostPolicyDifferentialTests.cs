using Dataplane.Core.Packets;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// The host firewall's connection sequences through both pipelines with conntrack: a host policy admitting SSH from
/// an admin network and letting the host send only to remote nodes. The SSH handshake reaches the host, its later
/// packets are established, the host's answer passes as a reply (a new flow from the host to that address would be
/// denied), and a denied SYN creates nothing, so its retry is denied again — with the same verdicts, drop reasons,
/// rules and directions on both sides (DualPipeline compares them packet by packet). What the host itself sends goes
/// through the host firewall's egress hook (HostEgressPipeline / dp_host_egress), sharing conntrack with the
/// receiving side.
/// </summary>
public class HostPolicyDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    private const string Policies = """
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: host-ssh}
        spec:
          nodeSelector: {}
          egress: [{toEntities: [remote-node]}]
          ingress:
          - fromCIDR: [203.0.113.0/24, "2001:db8:99::/48"]
            toPorts: [{ports: [{port: "22", protocol: TCP}]}]
        """;

    private (CtState State, PacketVerdict Verdict, byte Reason) Step(DualPipeline dual, PolicyCluster c, uint now,
        string from, string to, int port, ushort sport, byte flags, bool v6, string proto = "tcp")
    {
        var (frame, inPort) = ProbeFrames.Build(c, from, to, proto, port, v6, sport, flags);
        string? diff = dual.Compare(frame, inPort, now);
        Assert.True(diff == null, diff);
        var v = dual.LastBpf!.Verdict;
        return ((CtState)v.CtState, (PacketVerdict)v.Verdict, v.DropReason);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void HostConnectionsAreJudgedOnceAndTheirRepliesPass(bool v6)
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(Policies);
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        string host = v6 ? "2001:db8:0:1::1" : "198.18.0.1", admin = v6 ? "2001:db8:99::5" : "203.0.113.5";
        const uint t = 3_000_000;
        const byte denied = 133;
        Assert.Equal((CtState.New, PacketVerdict.Local, (byte)0), Step(dual, c, t, admin, host, 22, 41000, 0x02, v6));
        Assert.Equal((CtState.Reply, PacketVerdict.Tx, (byte)0), Step(dual, c, t, host, admin, 41000, 22, 0x12, v6));
        Assert.Equal((CtState.Established, PacketVerdict.Local, (byte)0), Step(dual, c, t + 1, admin, host, 22, 41000, 0x10, v6));
        // The host opening a connection of its own to the admin address: host egress admits remote nodes only.
        Assert.Equal((CtState.New, PacketVerdict.Drop, denied), Step(dual, c, t + 1, host, admin, 41001, 22, 0x02, v6));
        // Another port of the host: denied, and its retry too (a dropped SYN creates no entry).
        Assert.Equal((CtState.New, PacketVerdict.Drop, denied), Step(dual, c, t + 2, admin, host, 23, 41002, 0x02, v6));
        Assert.Equal((CtState.New, PacketVerdict.Drop, denied), Step(dual, c, t + 3, admin, host, 23, 41002, 0x02, v6));
    }

    private const string EgressPolicies = """
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: host-out}
        spec:
          nodeSelector: {}
          egress:
          - toEntities: [remote-node]
          - toCIDR: [203.0.113.0/24, "2001:db8:99::/48"]
            toPorts: [{ports: [{port: "443", protocol: TCP}]}]
          ingress:
          - fromCIDR: [203.0.113.0/24, "2001:db8:99::/48"]
            toPorts: [{ports: [{port: "22", protocol: TCP}]}]
        """;

    /// <summary>A frame the host's stack sends out of eth0 (port 0), through the egress hook on both sides.</summary>
    private static (bool Judged, CtState State, PacketVerdict Verdict, byte Reason, byte Direction) Out(DualPipeline dual,
        PolicyCluster c, uint now, string from, string to, int port, ushort sport, byte flags, bool v6, string proto = "tcp")
    {
        var (frame, _) = ProbeFrames.Build(c, from, to, proto, port, v6, sport, flags);
        string? diff = dual.CompareHostEgress(frame, 0, now);
        Assert.True(diff == null, diff);
        var r = dual.LastBpf!;
        var v = r.Verdict;
        return (r.Judged, (CtState)v.CtState, (PacketVerdict)v.Verdict, v.DropReason, v.Direction);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void WhatTheHostSendsIsJudgedByItsEgressPolicyAndConntrackJoinsBothHooks(bool v6)
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(EgressPolicies);
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        dual.ResetBpfCounters();
        string host = v6 ? "2001:db8:0:1::1" : "198.18.0.1", admin = v6 ? "2001:db8:99::5" : "203.0.113.5";
        string remoteNode = v6 ? "2001:db8:0:1::2" : "198.18.0.2";
        const uint t = 3_000_000;
        const byte egress = 2, denied = 133;
        // The host opens a connection its egress policy allows: judged once, and the answer — which the host's
        // ingress policy (port 22 only) would refuse as a new flow — is let in as its reply.
        Assert.Equal((true, CtState.New, PacketVerdict.Tx, (byte)0, egress), Out(dual, c, t, host, admin, 443, 50000, 0x02, v6));
        Assert.Equal((CtState.Reply, PacketVerdict.Local, (byte)0), Step(dual, c, t, admin, host, 50000, 443, 0x12, v6));
        Assert.Equal((true, CtState.Established, PacketVerdict.Tx, (byte)0, egress), Out(dual, c, t + 1, host, admin, 443, 50000, 0x10, v6));
        // Another port to the same address, and a local pod: no allow, dropped on the way out (133, egress) —
        // and the denied SYN opened nothing, so its retry is judged again.
        Assert.Equal((true, CtState.New, PacketVerdict.Drop, denied, egress), Out(dual, c, t + 1, host, admin, 444, 50001, 0x02, v6));
        Assert.Equal((true, CtState.New, PacketVerdict.Drop, denied, egress), Out(dual, c, t + 2, host, admin, 444, 50001, 0x02, v6));
        Assert.Equal((true, CtState.New, PacketVerdict.Drop, denied, egress), Out(dual, c, t + 2, host, "prod/web", 8080, 50002, 0x02, v6));
        // Other nodes are allowed whatever the port.
        Assert.Equal((true, CtState.New, PacketVerdict.Tx, (byte)0, egress), Out(dual, c, t + 2, host, remoteNode, 9999, 50003, 0x02, v6, "udp"));
        // A connection the host's ingress admitted: the host's answers leave as replies, though its egress policy
        // allows no port 41000 to that address.
        Assert.Equal((CtState.New, PacketVerdict.Local, (byte)0), Step(dual, c, t + 3, admin, host, 22, 41000, 0x02, v6));
        Assert.Equal((true, CtState.Reply, PacketVerdict.Tx, (byte)0, egress), Out(dual, c, t + 3, host, admin, 41000, 22, 0x12, v6));
        // The host's ping: to another node it goes, and the echo reply comes back as its reply; to the admin
        // address (TCP 443 only) it is dropped.
        byte request = v6 ? (byte)128 : (byte)8, reply = v6 ? (byte)129 : (byte)0;
        Assert.Equal((true, CtState.New, PacketVerdict.Tx, (byte)0, egress), Out(dual, c, t + 4, host, remoteNode, request, 0, 0, v6, "icmp"));
        Assert.Equal((CtState.Reply, PacketVerdict.Local, (byte)0), Step(dual, c, t + 4, remoteNode, host, reply, 0, 0, v6, "icmp"));
        Assert.Equal((true, CtState.New, PacketVerdict.Drop, denied, egress), Out(dual, c, t + 4, host, admin, request, 0, 0, v6, "icmp"));
        // Not the host's own traffic: a pod's packet the kernel routes out, and the host talking to itself.
        Assert.False(Out(dual, c, t + 4, "prod/web", admin, 443, 50004, 0x02, v6).Judged);
        Assert.False(Out(dual, c, t + 4, host, host, 443, 50005, 0x02, v6).Judged);
        // The egress drops are counted under the egress direction on both sides.
        var bpf = EbpfCounters.Read(fixture.Tracked);
        Assert.Equal(4UL, bpf.DirectionalDrops.GetValueOrDefault((TrafficDirection.Egress, Core.Drops.DropReason.PolicyDenied)).Packets);
        Assert.Equal(4UL, dual.CsharpCounters.DirectionalDrops[egress * 256 + denied]);
    }

    /// <summary>
    /// The host endpoint in policy audit mode (DataplaneNode spec.hostPolicyAuditMode): what its policies would drop
    /// passes on both sides, carrying the drop reason and direction it would have had, counted as audited; the
    /// connection it opened is tracked, so its next packets are not audited again; a pod's policy still drops.
    /// </summary>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void AuditModeLetsWhatTheHostPoliciesWouldDropPassMarked(bool v6)
    {
        DatapathFixture.RequireRoot();
        const string webOut = """
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: web-out, namespace: prod}
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [world]}]
            """;
        using var c = new PolicyCluster(EgressPolicies + "\n" + webOut, dataplaneSpecExtra: "  hostPolicyAuditMode: true\n");
        Assert.True(c.Snapshot.HostPolicyAudit);
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        dual.ResetBpfCounters();
        string host = v6 ? "2001:db8:0:1::1" : "198.18.0.1", admin = v6 ? "2001:db8:99::5" : "203.0.113.5";
        const uint t = 3_000_000;
        const byte ingress = 1, egress = 2, denied = 133;
        // The host's egress would drop port 444: it leaves, marked; then it is a tracked connection.
        Assert.Equal((true, CtState.New, PacketVerdict.Tx, denied, egress), Out(dual, c, t, host, admin, 444, 50001, 0x02, v6));
        Assert.Equal((CtState.Reply, PacketVerdict.Local, (byte)0), Step(dual, c, t, admin, host, 50001, 444, 0x12, v6));
        Assert.Equal((true, CtState.Established, PacketVerdict.Tx, (byte)0, egress), Out(dual, c, t + 1, host, admin, 444, 50001, 0x10, v6));
        // The host's ingress would drop port 23: handed to the host, marked, direction ingress.
        Assert.Equal((CtState.New, PacketVerdict.Local, denied), Step(dual, c, t + 1, admin, host, 23, 41002, 0x02, v6));
        Assert.Equal(ingress, dual.LastBpf!.Verdict.Direction);
        // Not the host's policy: the web pod's egress (world only) still drops its packet to the host.
        Assert.Equal((CtState.New, PacketVerdict.Drop, denied), Step(dual, c, t + 2, "prod/web", host, 8080, 41003, 0x02, v6));
        var bpf = EbpfCounters.Read(fixture.Tracked);
        Assert.Equal([0UL, 1UL, 1UL], bpf.AuditedPackets);
        Assert.Equal(bpf.AuditedPackets, dual.CsharpCounters.AuditedPackets);
        Assert.Equal(1UL, dual.CsharpCounters.Drops[denied]);
    }
}

/// <summary>The same sequences through the TC entry point.</summary>
public sealed class HostPolicyDifferentialTcTests(TcDatapathFixture fixture) : HostPolicyDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
