using Dataplane.Core.Packets;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// The host firewall's connection sequences through both pipelines with conntrack: a host policy admitting SSH from
/// an admin network and letting the host send only to remote nodes. The SSH handshake reaches the host, its later
/// packets are established, the host's answer passes as a reply (a new flow from the host to that address would be
/// denied), and a denied SYN creates nothing, so its retry is denied again — with the same verdicts, drop reasons,
/// rules and directions on both sides (DualPipeline compares them packet by packet).
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
        string from, string to, int port, ushort sport, byte flags, bool v6)
    {
        var (frame, inPort) = ProbeFrames.Build(c, from, to, "tcp", port, v6, sport, flags);
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
}

/// <summary>The same sequences through the TC entry point.</summary>
public sealed class HostPolicyDifferentialTcTests(TcDatapathFixture fixture) : HostPolicyDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
