using Dataplane.Core.Packets;
using Dataplane.Ebpf.Loader;
using Dataplane.Ebpf.Tests.Support;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// Connection sequences through both pipelines with the same clock: handshake, replies, teardown, expiry,
/// related ICMP errors, and a full table (155). The server's replies would be denied as new connections
/// (web admits no ingress), so every reply that passes proves the conntrack path on both sides.
/// </summary>
public class ConntrackDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    private const string Policies = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: db-from-web, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: db}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: web}}]
            toPorts: [{ports: [{port: "5432", protocol: TCP}, {port: "6000", endPort: 6100, protocol: UDP}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-no-ingress, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress: [{}]
        """;

    private (CtState State, PacketVerdict Verdict, byte Reason) Step(DualPipeline dual, PolicyCluster c, uint now,
        string from, string to, string proto, int port, ushort sport, byte flags = 0, bool v6 = false)
    {
        var (frame, inPort) = ProbeFrames.Build(c, from, to, proto, port, v6, sport, flags);
        return Check(dual, frame, inPort, now);
    }

    private static (CtState, PacketVerdict, byte) Check(DualPipeline dual, byte[] frame, ushort inPort, uint now)
    {
        string? diff = dual.Compare(frame, inPort, now);
        Assert.True(diff == null, diff);
        var v = dual.LastBpf!.Verdict;
        return ((CtState)v.CtState, (PacketVerdict)v.Verdict, v.DropReason);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void TcpHandshakeRepliesTeardownAndExpiry(bool v6)
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(Policies);
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 2_000_000;
        Assert.Equal((CtState.New, PacketVerdict.Tx, (byte)0), Step(dual, c, t, "prod/web", "prod/db", "tcp", 5432, 41000, 0x02, v6));
        Assert.Equal((CtState.Reply, PacketVerdict.Tx, (byte)0), Step(dual, c, t, "prod/db", "prod/web", "tcp", 41000, 5432, 0x12, v6));
        Assert.Equal((CtState.Established, PacketVerdict.Tx, (byte)0), Step(dual, c, t + 1, "prod/web", "prod/db", "tcp", 5432, 41000, 0x10, v6));
        Assert.Equal((CtState.Reply, PacketVerdict.Tx, (byte)0), Step(dual, c, t + 2, "prod/db", "prod/web", "tcp", 41000, 5432, 0x18, v6));

        // An ICMP error from db quoting web's packet is related to the connection and passes web's ingress.
        var (quote, _) = ProbeFrames.Build(c, "prod/web", "prod/db", "tcp", 5432, v6, 41000, 0x10);
        var icmpError = IcmpErrorFrame(c, "prod/db", "prod/web", quote[14..(14 + (v6 ? 48 : 28))], v6);
        Assert.Equal((CtState.Related, PacketVerdict.Tx, (byte)0), Check(dual, icmpError.Frame, icmpError.InPort, t + 2));

        // FIN both ways: 10 s to live. Before it is up replies still pass, after it they are new and denied.
        Assert.Equal((CtState.Established, PacketVerdict.Tx, (byte)0), Step(dual, c, t + 3, "prod/web", "prod/db", "tcp", 5432, 41000, 0x11, v6));
        Assert.Equal((CtState.Reply, PacketVerdict.Tx, (byte)0), Step(dual, c, t + 3, "prod/db", "prod/web", "tcp", 41000, 5432, 0x11, v6));
        Assert.Equal((CtState.Reply, PacketVerdict.Tx, (byte)0), Step(dual, c, t + 12, "prod/db", "prod/web", "tcp", 41000, 5432, 0x10, v6));
        Assert.Equal((CtState.New, PacketVerdict.Drop, (byte)133), Step(dual, c, t + 23, "prod/db", "prod/web", "tcp", 41000, 5432, 0x10, v6));

        // A SYN that is never answered lives 60 s.
        Step(dual, c, t + 100, "prod/web", "prod/db", "tcp", 5432, 42000, 0x02, v6);
        Assert.Equal(CtState.Reply, Step(dual, c, t + 159, "prod/db", "prod/web", "tcp", 42000, 5432, 0x12, v6).State);
        Assert.Equal(CtState.New, Step(dual, c, t + 220, "prod/db", "prod/web", "tcp", 42000, 5432, 0x12, v6).State);
    }

    [SkippableFact]
    public void FullTableDropsNewConnectionsWith155UntilEntriesExpire()
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(Policies);
        var dp = fixture.Tracked;
        using var dual = new DualPipeline(dp, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        dual.ResetBpfCounters();
        const uint t = 3_000_000;
        for (int i = 0; i < DatapathFixture.CtFlows + 40; i++)
        {
            var r = Step(dual, c, t, "prod/web", "prod/db", "udp", 6000 + i % 100, (ushort)(10000 + i));
            Assert.Equal(i < DatapathFixture.CtFlows ? PacketVerdict.Tx : PacketVerdict.Drop, r.Verdict);
            if (i >= DatapathFixture.CtFlows) Assert.Equal(155, r.Reason);
        }
        Assert.Equal(40UL, EbpfCounters.Read(dp).DropsOf(Core.Drops.DropReason.CtMapInsertionFailed));
        Assert.Equal(DatapathFixture.CtFlows, ConntrackGc.Count(dp));
        // Replies of tracked connections still pass while the table is full.
        Assert.Equal(CtState.Reply, Step(dual, c, t + 1, "prod/db", "prod/web", "udp", 10000, 6000).State);
        // 60 s later the UDP entries are gone (both GCs ran) and new connections are accepted again.
        Assert.Equal(CtState.New, Step(dual, c, t + 70, "prod/web", "prod/db", "udp", 6000, 20000).State);
        Assert.Equal(1, ConntrackGc.Count(dp));
        Assert.Equal(1, dual.CsharpConnections);
    }

    /// <summary>
    /// The program's own clock (bpf_ktime_get_ns plus the offset the filler measured) is Unix time, the clock the
    /// C# table and the GC use: a connection it creates expires 60 s (UDP) after the wall clock's now.
    /// </summary>
    [SkippableFact]
    public void ProgramClockIsUnixTime()
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(Policies);
        var dp = fixture.Tracked;
        using var dual = new DualPipeline(dp, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        var (frame, inPort) = ProbeFrames.Build(c, "prod/web", "prod/db", "udp", 6001, sport: 33333);
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var r = dp.TestRun(frame, inPort, nowSeconds: 0, fixture.Hook);
        long after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (fixture.Hook == BpfHook.Xdp) Assert.Equal(Interop.XdpAction.Redirect, r.Action);
        else Assert.Equal(Interop.TcAction.Redirect, r.TcAction);
        var entry = dp.Conntrack.Keys<Maps.CtKeyBpf>().Select(k => { dp.Conntrack.TryLookup(k, out Maps.CtValueBpf v); return v; }).Single();
        Assert.InRange((long)entry.Expires, before + 60 - 1, after + 60 + 1);
    }

    private static (byte[] Frame, ushort InPort) IcmpErrorFrame(PolicyCluster c, string from, string to, byte[] quoted, bool v6)
    {
        var f = c.Resolve(from);
        var t = c.Resolve(to);
        var icmp = new byte[8 + quoted.Length];
        icmp[0] = v6 ? (byte)1 : (byte)3; icmp[1] = v6 ? (byte)4 : (byte)3;
        quoted.CopyTo(icmp, 8);
        var frame = v6
            ? PacketBuilder.Eth6(PacketBuilder.Ipv6(f.Ip6!, t.Ip6!, 58, icmp), f.DstMac, f.Mac)
            : PacketBuilder.Eth4(PacketBuilder.Ipv4(f.Ip4, t.Ip4, 1, icmp), f.DstMac, f.Mac);
        return (frame, f.Port);
    }
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class ConntrackDifferentialTcTests(TcDatapathFixture fixture) : ConntrackDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
