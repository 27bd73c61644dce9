using System.Text.RegularExpressions;
using Dataplane.Core.Packets;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Ebpf.Maps;
using Dataplane.Ebpf.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// VXLAN encapsulation toward Tunnel next hops through both pipelines, conntrack on: node-a of the overlay tests
/// with node-b and node-c both VXLAN peers (no SRv6), pod web sending to their pods over TCP, UDP and ICMP, IPv4
/// and IPv6 inside IPv4 or IPv6 underlays, later fragments (flow hash without ports), Ethernet padding, TTL 1,
/// VXLAN from node-b re-encapsulated toward node-c, a fixed-VNI peer, and the MTU edge: what fits, what gets
/// fragmentation-needed / packet-too-big back, and the 157 drops (no DF, ICMP errors). Every frame must leave both
/// pipelines with the same bytes (outer headers, VNI, UDP source port and IPv6 flow label from the inner flow hash,
/// checksums), verdict, drop reason and metadata; a difference prints the frame in hex.
/// </summary>
public class VxlanEncapDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    private const ushort Web = OverlayNode.WebPort, Uplink = OverlayNode.Uplink;

    /// <summary>OverlayNode's YAML without its SRv6 parts (local SIDs, node-c's SRv6 annotations): node-c is a VXLAN peer too.</summary>
    private static string Yaml(string overlay, string nodeB = "dataplane.io/tunnel: vxlan")
    {
        string y = OverlayNode.Yaml(overlay: overlay, nodeBAnnotations: nodeB)
            .Replace("dataplane.io/tunnel: srv6", "dataplane.io/tunnel: vxlan", StringComparison.Ordinal);
        return Regex.Replace(y, @"^.*(srv6-sid|locators:|sids:|behavior:).*\n", "", RegexOptions.Multiline);
    }

    public static TheoryData<string, string> Underlays => new()
    {
        { "ipv4 underlay", "    vxlanPort: 8472" },
        { "ipv6 underlay", "    underlay: ipv6\n    vxlanPort: 8472" },
    };

    private static byte[] FromWeb4(string dst, byte proto, byte[] l4, ushort frag = 0x4000, byte ttl = 64) =>
        Eth4(Ipv4("198.18.100.10", dst, proto, l4, ttl: ttl, fragField: frag), OverlayNode.RouterMac, OverlayNode.WebMac);

    private static byte[] FromWeb6(string dst, byte proto, byte[] l4, byte hop = 64) =>
        Eth6(Ipv6("fd00:100::10", dst, proto, l4, hopLimit: hop), OverlayNode.RouterMac, OverlayNode.WebMac);

    private static void Same(DualPipeline dual, byte[] frame, ushort inPort, uint now)
    {
        string? diff = dual.Compare(frame, inPort, now);
        Assert.True(diff == null, diff);
    }

    [SkippableTheory]
    [MemberData(nameof(Underlays))]
    public void EncapsulatedTooBigAndRefusedPacketsMatchByteForByte(string name, string overlay)
    {
        DatapathFixture.RequireRoot();
        using var node = new OverlayNode(Yaml(overlay));
        Assert.True(node.Snapshot.NextHops.Any(nh => nh.Kind == NextHopKind.Tunnel), name);
        Assert.Empty(OffloadSupport.Unsupported(node.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, node.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 6_000_000;
        var frames = new List<(byte[] Frame, ushort Port)>();
        foreach (var dst in new[] { "198.18.101.20", "198.18.102.7" })
        {
            for (ushort sport = 4000; sport < 4016; sport++)
            {
                frames.Add((FromWeb4(dst, 17, Udp(sport, 53, new byte[sport - 3990])), Web));
                frames.Add((FromWeb4(dst, 6, Tcp(sport, 80, 0x02, payload: 7)), Web));
            }
            frames.Add((FromWeb4(dst, 1, Icmp(8, 0, id: 77)), Web));
            frames.Add((FromWeb4(dst, 17, Udp(1, 2, new byte[40]), frag: 0x00b9), Web));               // later fragment
            frames.Add((FromWeb4(dst, 17, Udp(5, 6), ttl: 1), Web));                                       // 196
            // A short frame with Ethernet padding: the encapsulated inner frame must not carry it.
            var small = FromWeb4(dst, 17, Udp(7, 8));
            frames.Add(([.. small, .. new byte[60 - small.Length]], Web));
        }
        foreach (var dst in new[] { "fd00:101::20", "fd00:102::7" })
        {
            for (ushort sport = 5000; sport < 5008; sport++)
                frames.Add((FromWeb6(dst, 6, Tcp(sport, 443, 0x02, payload: 3)), Web));
            frames.Add((FromWeb6(dst, 58, Icmp6(128, 0, id: 9)), Web));
        }
        // The MTU edge (eth0 MTU 1500): 1450 bytes of inner IPv4 fit an IPv4 underlay, 1430 an IPv6 one.
        foreach (int size in new[] { 1430, 1431, 1450, 1451, 1480, 1500 })
        {
            frames.Add((FromWeb4("198.18.101.20", 17, Udp(4000, 53, new byte[size - 28])), Web));
            frames.Add((FromWeb4("198.18.101.20", 17, Udp(4000, 53, new byte[size - 28]), frag: 0), Web));  // no DF: 157
            frames.Add((FromWeb4("198.18.101.20", 1, Icmp(3, 3, payload: size - 28)), Web));                   // ICMP error: 157
            frames.Add((FromWeb6("fd00:101::20", 17, Udp(1, 2, new byte[size - 48])), Web));
        }
        frames.Add((FromWeb6("fd00:101::20", 17, Udp(1, 2, new byte[1500 - 48])), Web));
        // VXLAN from node-b for a pod of node-c: terminated, routed into the tunnel toward node-c (VNI from node-b's).
        uint db = node.IdentityOf("db");
        var inner = Eth4(Ipv4("198.18.101.20", "198.18.102.7", 6, Tcp(33000, 80)), OverlayNode.RouterMac, 0x02_00_00_00_0b_01);
        frames.Add((Eth4(Ipv4("198.18.0.2", "198.18.0.1", 17, Udp(51000, 8472, Vxlan(db, inner))), OverlayNode.Eth0Mac, OverlayNode.NodeBMac), Uplink));

        var seen = new HashSet<(byte Verdict, byte Reason, ushort OutPort, bool Encap, bool IcmpError)>();
        foreach (var (frame, port) in frames)
        {
            Same(dual, frame, port, t);
            var v = dual.LastBpf!.Verdict;
            seen.Add((v.Verdict, v.DropReason, v.Verdict == (byte)PacketVerdict.Tx ? v.OutPort : (ushort)0,
                (v.Flags & (ushort)PacketFlags.TunnelEncap) != 0, (v.Flags & (ushort)PacketFlags.IcmpError) != 0));
        }
        Assert.Contains(((byte)PacketVerdict.Tx, (byte)0, Uplink, true, false), seen);                 // encapsulated
        Assert.Contains(((byte)PacketVerdict.Tx, (byte)0, Web, false, true), seen);                    // too big, back to web
        Assert.Contains(((byte)PacketVerdict.Drop, (byte)157, (ushort)0, true, false), seen);          // no DF
        Assert.Contains(((byte)PacketVerdict.Drop, (byte)157, (ushort)0, true, true), seen);           // ICMP error
        Assert.Contains(((byte)PacketVerdict.Drop, (byte)196, (ushort)0, false, false), seen);
        // The replies of the encapsulated connections come back through VXLAN and find the same conntrack entries.
        for (ushort sport = 4000; sport < 4016; sport++)
        {
            var reply = Eth4(Ipv4("198.18.101.20", "198.18.100.10", 6, Tcp(80, sport, 0x12)), OverlayNode.RouterMac, 0x02_00_00_00_0b_01);
            Same(dual, Eth4(Ipv4("198.18.0.2", "198.18.0.1", 17, Udp(51000, 8472, Vxlan(db, reply))), OverlayNode.Eth0Mac, OverlayNode.NodeBMac), Uplink, t + 1);
            Assert.Equal((byte)CtState.Reply, dual.LastBpf!.Verdict.CtState);
        }
    }

    [SkippableFact]
    public void FixedVniPeerGetsItsVniAndMac()
    {
        DatapathFixture.RequireRoot();
        using var node = new OverlayNode(Yaml("""
                vxlanPort: 8472
                peers:
                - {endpoint: 198.18.0.5, mode: vxlan, vni: 100, innerMac: "02:00:00:00:77:01", prefixes: ["198.18.60.0/24"]}
            """).Replace("  - {ip: 198.18.0.3,", "  - {ip: 198.18.0.5, mac: \"02:00:00:00:0e:05\"}\n  - {ip: 198.18.0.3,", StringComparison.Ordinal));
        Assert.Empty(OffloadSupport.Unsupported(node.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, node.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        for (ushort sport = 1; sport < 9; sport++)
        {
            Same(dual, FromWeb4("198.18.60.9", 17, Udp(sport, 2)), Web, 6_100_000);
            Assert.Equal(100, dual.LastBpf!.Output[14 + 20 + 8 + 6]);
        }
    }

    [SkippableFact]
    public void TunnelNextHopToAnUnknownEndpointDrops160OnBothSides()
    {
        DatapathFixture.RequireRoot();
        var b = new SnapshotBuilder { VxlanPort = 8472 };
        var eth0 = b.AddInterface("eth0", OverlayNode.Eth0Mac);
        b.AddRoute(System.Net.IPNetwork.Parse("0.0.0.0/0"), new NextHop(NextHopKind.Tunnel, eth0, 0, 0, 0, 0xC6120063, false));
        var snapshot = b.Build();
        Assert.Empty(OffloadSupport.Unsupported(snapshot));
        using var dual = new DualPipeline(fixture.Tracked, snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        Same(dual, Eth4(Ipv4("198.19.0.1", "198.19.9.9", 17, Udp(1, 2)), OverlayNode.Eth0Mac), eth0, 6_200_000);
        Assert.Equal(160, dual.LastBpf!.Verdict.DropReason);
    }

    /// <summary>
    /// SRv6 H.Encaps toward node-c (its End.DT4/DT6 SIDs annotated; node-a has no local SIDs, which stay refused):
    /// the inner Ethernet header replaced by the outer one and the peer's IPv6 + SRH, the flow label from the
    /// inner flow hash, the MTU edge with packet-too-big / frag-needed; VXLAN toward node-b alongside.
    /// </summary>
    [SkippableFact]
    public void Srv6EncapsulationTowardAnSrv6PeerMatchesByteForByte()
    {
        DatapathFixture.RequireRoot();
        string yaml = Regex.Replace(OverlayNode.Yaml(overlay: "    vxlanPort: 8472"), @"^.*(locators:|sids:|behavior:).*\n", "", RegexOptions.Multiline);
        using var node = new OverlayNode(yaml);
        Assert.Contains(node.Snapshot.Overlay.Peers, p => p.Mode == Core.Overlay.TunnelMode.Srv6);
        Assert.Empty(OffloadSupport.Unsupported(node.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, node.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 6_300_000;
        var frames = new List<byte[]>();
        for (ushort sport = 7000; sport < 7012; sport++)
        {
            frames.Add(FromWeb4("198.18.102.7", 6, Tcp(sport, 80, 0x02, payload: 9)));
            frames.Add(FromWeb4("198.18.102.7", 17, Udp(sport, 53, new byte[sport - 6990])));
            frames.Add(FromWeb6("fd00:102::7", 6, Tcp(sport, 443, 0x02, payload: 3)));
            frames.Add(FromWeb4("198.18.101.20", 17, Udp(sport, 53, new byte[12])));
        }
        foreach (int size in new[] { 1400, 1420, 1444, 1452, 1460, 1500 })
        {
            frames.Add(FromWeb4("198.18.102.7", 17, Udp(4000, 53, new byte[size - 28])));
            frames.Add(FromWeb6("fd00:102::7", 17, Udp(1, 2, new byte[size - 48])));
        }
        var seen = new HashSet<(byte Verdict, byte Reason, ushort OutPort, bool Encap)>();
        foreach (var frame in frames)
        {
            Same(dual, frame, Web, t);
            var v = dual.LastBpf!.Verdict;
            seen.Add((v.Verdict, v.DropReason, v.Verdict == (byte)PacketVerdict.Tx ? v.OutPort : (ushort)0, (v.Flags & (ushort)PacketFlags.TunnelEncap) != 0));
        }
        Assert.Contains(((byte)PacketVerdict.Tx, (byte)0, Uplink, true), seen);
        Assert.Contains(((byte)PacketVerdict.Tx, (byte)0, Web, false), seen);
        // An SRv6 encapsulation: outer IPv6 toward node-c's SID.
        Same(dual, FromWeb4("198.18.102.7", 6, Tcp(7100, 80, 0x02)), Web, t);
        var o = dual.LastBpf!.Output;
        Assert.Equal(0x86DD, (o[12] << 8) | o[13]);
        Assert.Equal(System.Net.IPAddress.Parse("2001:db8:c::4"), new System.Net.IPAddress(o.AsSpan(14 + 24, 16)));
    }

    private static byte[] ToSid(string sid, byte proto, byte[] payload, params (byte, byte[])[] ext) =>
        Eth6(Ipv6("2001:db8:0:1::3", sid, proto, payload, 64, ext), OverlayNode.Eth0Mac, OverlayNode.NodeCMac);

    /// <summary>
    /// node-a's local SIDs as the overlay tests configure them (End, End.X, End.DT4/DT6/DT46 in locator
    /// 2001:db8:a::/48): the next segment taken and routed or cross-connected, inner IPv4/IPv6 decapsulated and
    /// delivered, and the refusals — no segment left (185), SL ≠ 0 at a DT SID (156), a family the SID does not
    /// take (139), an address in the locator that is no SID (185), hop limit 1 at End.X (196).
    /// </summary>
    [SkippableFact]
    public void LocalSidBehavioursMatchByteForByte()
    {
        DatapathFixture.RequireRoot();
        using var node = new OverlayNode();
        Assert.True(node.Snapshot.Overlay.HasSids);
        Assert.Empty(OffloadSupport.Unsupported(node.Snapshot));
        using var dual = new DualPipeline(fixture.Tracked, node.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        const uint t = 6_400_000;
        byte[] inner4 = Ipv4("198.18.102.7", "198.18.100.10", 17, Udp(7, 8, new byte[4]));
        byte[] inner6 = Ipv6("fd00:102::7", "fd00:100::10", 17, Udp(7, 8, new byte[4]));
        var frames = new List<byte[]>
        {
            ToSid("2001:db8:a::4", 4, inner4),
            ToSid("2001:db8:a::46", 4, inner4),
            ToSid("2001:db8:a::4", 4, inner4, Srh(0, "2001:db8:a::4")),
            ToSid("2001:db8:a::6", 41, inner6, Srh(0, "2001:db8:a::6")),
            ToSid("2001:db8:a::46", 41, inner6),
            ToSid("2001:db8:a::6", 4, inner4),                                                    // 139
            ToSid("2001:db8:a::4", 4, inner4, Srh(1, "2001:db8:c::9", "2001:db8:a::4")),          // 156
            ToSid("2001:db8:a::1", 4, inner4, Srh(1, "2001:db8:b::9", "2001:db8:a::1")),          // End → node-b
            ToSid("2001:db8:a::2", 4, inner4, Srh(1, "2001:db8:99::9", "2001:db8:a::2")),         // End.X
            ToSid("2001:db8:a::1", 4, inner4, Srh(0, "2001:db8:a::1")),                           // 185
            ToSid("2001:db8:a::77", 4, inner4),                                                   // 185
            Eth6(Ipv6("2001:db8:0:1::3", "2001:db8:a::2", 4, inner4, 1, Srh(1, "2001:db8:99::9", "2001:db8:a::2")),
                OverlayNode.Eth0Mac, OverlayNode.NodeCMac),                                        // 196
        };
        var reasons = new List<byte>();
        foreach (var frame in frames)
        {
            Same(dual, frame, Uplink, t);
            reasons.Add(dual.LastBpf!.Verdict.Verdict == (byte)PacketVerdict.Drop ? dual.LastBpf.Verdict.DropReason : (byte)0);
        }
        Assert.Equal([0, 0, 0, 0, 0, 139, 156, 0, 0, 185, 185, 196], reasons);
    }
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class VxlanEncapDifferentialTcTests(TcDatapathFixture fixture) : VxlanEncapDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
