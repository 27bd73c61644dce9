using Dataplane.Core.Drops;
using Dataplane.Core.Packets;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// Policy with connection tracking, as Cilium enforces it: decided once per connection, replies of an allowed
/// connection pass whatever the reverse direction's policy says, established connections survive a policy
/// change, and a full table evicts the oldest unanswered connection an endpoint may take, dropping new
/// connections with CT_MAP_INSERTION_FAILED only when there is none.
/// </summary>
public class ConntrackPolicyTests
{
    /// <summary>web may only talk to db:5432; nothing may open connections to web.</summary>
    private const string WebLockedDown = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress: [{}]
          egress:
          - toEndpoints: [{matchLabels: {app: db}}]
            toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
          - toEndpoints: [{matchLabels: {app: db}}]
            icmps: [{fields: [{type: 8, family: IPv4}, {type: 128, family: IPv6}]}]
        """;

    private const byte Syn = 0x02, SynAck = 0x12, Ack = 0x10;

    [Fact]
    public void WithoutConntrackTheReplyIsCheckedAgainstPolicyAndDropped()
    {
        using var c = new PolicyCluster(WebLockedDown);
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Syn).Verdict);
        var reply = c.Send("prod/db", "prod/web", "tcp", 40001, sport: 5432, tcpFlags: SynAck);
        Assert.Equal(DropReason.PolicyDenied, reply.DropReason);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RepliesOfAnAllowedConnectionPass(bool v6)
    {
        using var c = new PolicyCluster(WebLockedDown, conntrackFlows: 1024);
        var syn = c.Send("prod/web", "prod/db", "tcp", 5432, v6, sport: 40001, tcpFlags: Syn);
        Assert.Equal(PacketVerdict.Tx, syn.Verdict);
        Assert.Equal(CtState.New, syn.CtState);
        var synAck = c.Send("prod/db", "prod/web", "tcp", 40001, v6, sport: 5432, tcpFlags: SynAck);
        Assert.Equal(PacketVerdict.Tx, synAck.Verdict);
        Assert.Equal(CtState.Reply, synAck.CtState);
        var ack = c.Send("prod/web", "prod/db", "tcp", 5432, v6, sport: 40001, tcpFlags: Ack);
        Assert.Equal(CtState.Established, ack.CtState);
        Assert.Equal(PacketVerdict.Tx, ack.Verdict);
        // A connection db opens itself toward web is new and is still denied.
        var fresh = c.Send("prod/db", "prod/web", "tcp", 80, v6, sport: 5555, tcpFlags: Syn);
        Assert.Equal(DropReason.PolicyDenied, fresh.DropReason);
    }

    [Fact]
    public void EchoRepliesMatchTheirRequest()
    {
        using var c = new PolicyCluster(WebLockedDown, conntrackFlows: 1024);
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "icmp", 8, icmpId: 77).Verdict);
        var reply = c.Send("prod/db", "prod/web", "icmp", 0, icmpId: 77);
        Assert.Equal(PacketVerdict.Tx, reply.Verdict);
        Assert.Equal(CtState.Reply, reply.CtState);
        Assert.Equal(DropReason.PolicyDenied, c.Send("prod/db", "prod/web", "icmp", 0, icmpId: 78).DropReason);
    }

    [Fact]
    public void EstablishedConnectionsSurviveAPolicyChange()
    {
        using var c = new PolicyCluster(WebLockedDown, conntrackFlows: 1024);
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Syn).Verdict);
        c.SwapPolicies(WebLockedDown.Replace("port: \"5432\"", "port: \"6543\""));
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Ack).Verdict);
        Assert.Equal(DropReason.PolicyDenied, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40002, tcpFlags: Syn).DropReason);
    }

    /// <summary>
    /// A client that reuses its port for a new connection while the old one's entry is still closing (tcp_tw_reuse,
    /// busy HTTP clients): its SYN starts a new connection, judged by the policy in force — not the old entry's
    /// verdict. A retransmitted SYN of a live connection stays part of it.
    /// </summary>
    [Fact]
    public void ASynOnTheTupleOfAClosedConnectionIsANewConnection()
    {
        const byte Fin = 0x01;
        using var c = new PolicyCluster(WebLockedDown, conntrackFlows: 1024);
        Assert.Equal(CtState.New, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Syn).CtState);
        Assert.Equal(CtState.Reply, c.Send("prod/db", "prod/web", "tcp", 40001, sport: 5432, tcpFlags: SynAck).CtState);
        Assert.Equal(CtState.Established, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Syn).CtState);
        // Closed both ways; the same port opens a new connection, allowed and tracked as new.
        c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Fin | Ack);
        c.Send("prod/db", "prod/web", "tcp", 40001, sport: 5432, tcpFlags: Fin | Ack);
        var again = c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Syn);
        Assert.Equal((PacketVerdict.Tx, CtState.New), (again.Verdict, again.CtState));
        Assert.Equal(CtState.Reply, c.Send("prod/db", "prod/web", "tcp", 40001, sport: 5432, tcpFlags: SynAck).CtState);
        // Closed again, then the policy no longer allows the port: the next connection on the tuple is denied.
        c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Fin | Ack);
        c.Send("prod/db", "prod/web", "tcp", 40001, sport: 5432, tcpFlags: Fin | Ack);
        c.SwapPolicies(WebLockedDown.Replace("port: \"5432\"", "port: \"6543\""));
        Assert.Equal(DropReason.PolicyDenied, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 40001, tcpFlags: Syn).DropReason);
    }

    [Fact]
    public void FullTableEvictsTheOldestUnansweredConnectionAndDrops155OnlyWhenNoneIsLeft()
    {
        using var c = new PolicyCluster(WebLockedDown, conntrackFlows: 2);
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 1, tcpFlags: Syn).Verdict);
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 2, tcpFlags: Syn).Verdict);
        Assert.Equal(CtState.Reply, c.Send("prod/db", "prod/web", "tcp", 1, sport: 5432, tcpFlags: SynAck).CtState);
        // Full: the new connection takes the place of the oldest one never answered (sport 2) …
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 3, tcpFlags: Syn).Verdict);
        // … whose late answer is now a new connection to web, which admits none.
        Assert.Equal(DropReason.PolicyDenied, c.Send("prod/db", "prod/web", "tcp", 2, sport: 5432, tcpFlags: SynAck).DropReason);
        Assert.Equal(CtState.Reply, c.Send("prod/db", "prod/web", "tcp", 3, sport: 5432, tcpFlags: SynAck).CtState);
        // Every connection answered: nothing may be evicted, the new one is dropped with 155.
        Assert.Equal(DropReason.CtMapInsertionFailed, c.Send("prod/web", "prod/db", "tcp", 5432, sport: 4, tcpFlags: Syn).DropReason);
        // Known connections keep working.
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/db", "prod/web", "tcp", 1, sport: 5432, tcpFlags: Ack).Verdict);
    }

    /// <summary>
    /// Issue 23 item 6: one pod's SYN flood fills the table, another pod still opens its connection (evicting the
    /// flood's oldest entry), and the flood, over its share, then recycles only its own entries — the other pod's
    /// connection is answered however long the flood lasts. No 155 at all.
    /// </summary>
    [Fact]
    public void OnePodsFloodDoesNotBlockAnotherPodsNewConnection()
    {
        using var c = new PolicyCluster(WebLockedDown, conntrackFlows: 8);
        for (ushort sport = 1; sport <= 8; sport++)
            Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, sport: sport, tcpFlags: Syn).Verdict);
        Assert.Equal(PacketVerdict.Tx, c.Send("prod/client", "prod/db", "tcp", 5432, sport: 50000, tcpFlags: Syn).Verdict);
        for (ushort sport = 9; sport <= 200; sport++)
            Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, sport: sport, tcpFlags: Syn).Verdict);
        var answer = c.Send("prod/db", "prod/client", "tcp", 50000, sport: 5432, tcpFlags: SynAck);
        Assert.Equal((PacketVerdict.Tx, CtState.Reply), (answer.Verdict, answer.CtState));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IcmpErrorsAboutATrackedConnectionAreRelatedAndPass(bool v6)
    {
        using var c = new PolicyCluster(WebLockedDown, conntrackFlows: 1024);
        var (web, db) = (c.Resolve("prod/web"), c.Resolve("prod/db"));
        byte[] Quote(ushort sport) => v6
            ? PacketBuilder.Ipv6(web.Ip6!, db.Ip6!, 6, PacketBuilder.Tcp(sport, 5432, Syn))[..48]
            : PacketBuilder.Ipv4(web.Ip4, db.Ip4, 6, PacketBuilder.Tcp(sport, 5432, Syn))[..28];

        Assert.Equal(PacketVerdict.Tx, c.Send("prod/web", "prod/db", "tcp", 5432, v6, sport: 40001, tcpFlags: Syn).Verdict);
        var related = c.SendIcmpError("prod/db", "prod/web", Quote(40001), v6);
        Assert.Equal(PacketVerdict.Tx, related.Verdict);
        Assert.Equal(CtState.Related, related.CtState);
        // An error quoting a connection nobody opened is new traffic toward web, which web's policy denies.
        var stray = c.SendIcmpError("prod/db", "prod/web", Quote(40099), v6);
        Assert.Equal(DropReason.PolicyDenied, stray.DropReason);
        // A truncated quote cannot be related to anything.
        Assert.Equal(DropReason.PolicyDenied, c.SendIcmpError("prod/db", "prod/web", Quote(40001)[..^6], v6).DropReason);
    }
}
