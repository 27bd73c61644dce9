using System.Net;
using Dataplane.Core.Packets;
using Dataplane.Ebpf.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Ebpf.Tests;

/// <summary>
/// VXLAN termination, which every multi-node configuration has (each remote node's InternalIP is a tunnel peer,
/// native mode included): VXLAN from node-b to this node's address is stripped and its inner packet runs the
/// pipeline with the VNI as source identity; from an unknown sender it drops with 172, with a VNI naming no
/// identity with 183; to another address it is transit UDP. Every frame through both pipelines must agree.
/// </summary>
public class VxlanDifferentialTests(DatapathFixture fixture) : IClassFixture<DatapathFixture>
{
    private const ulong RouterMac = 0x02_00_00_00_00_99, Eth0Mac = 0x02_00_00_00_0a_01, NodeBMac = 0x02_00_00_00_0b_01;
    private const ushort VxlanPort = 8472, Eth0 = 0;

    private static byte[] Outer(string src, string dst, uint vni, byte[] inner, ushort sport = 49152)
    {
        byte[] udp = Udp(sport, VxlanPort, Vxlan(vni, inner));
        bool v6 = src.Contains(':');
        return v6 ? Eth6(Ipv6(src, dst, 17, udp), Eth0Mac, NodeBMac) : Eth4(Ipv4(src, dst, 17, udp), Eth0Mac, NodeBMac);
    }

    private static byte[] InnerTcp(string src, string dst, ushort dport, byte flags = 0x02) => src.Contains(':')
        ? Eth6(Ipv6(src, dst, 6, Tcp(40000, dport, flags)), RouterMac, NodeBMac)
        : Eth4(Ipv4(src, dst, 6, Tcp(40000, dport, flags)), RouterMac, NodeBMac);

    [SkippableFact]
    public void TerminatedTransitAndRefusedVxlanAgree()
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(GeneratedDifferentialTests.Policies);
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        uint web3 = c.Snapshot.IpCache.Lookup(IPAddress.Parse("10.0.2.10"));
        uint web3v6 = c.Snapshot.IpCache.Lookup(IPAddress.Parse("fd00:2::10"));
        Assert.True(c.Snapshot.Overlay.IsValidVni(web3), "the remote pod's identity must be a valid VNI");
        string[] locals = ["10.0.1.10", "10.0.1.20", "10.0.1.30", "10.0.1.40", "10.0.1.53"];
        ushort[] ports = [80, 443, 5432, 8080, 53];
        var frames = new List<byte[]>();
        foreach (var dst in locals)
            foreach (var port in ports)
            {
                frames.Add(Outer("198.18.0.2", "198.18.0.1", web3, InnerTcp("10.0.2.10", dst, port)));
                frames.Add(Outer("198.18.0.2", "198.18.0.1", web3, InnerTcp("10.0.2.10", dst, port, 0x10)));
                frames.Add(Outer("2001:db8:0:1::2", "2001:db8:0:1::1", web3v6, InnerTcp("fd00:2::10", dst.Replace("10.0.1.", "fd00:1::"), port)));
                frames.Add(Outer("2001:db8:0:1::2", "198.18.0.1", web3, InnerTcp("10.0.2.10", dst, port)));
            }
        frames.Add(Outer("198.18.0.77", "198.18.0.1", web3, InnerTcp("10.0.2.10", "10.0.1.10", 80)));                // 172
        frames.Add(Outer("198.18.0.2", "198.18.0.1", 60001, InnerTcp("10.0.2.10", "10.0.1.10", 80)));               // 183
        frames.Add(Outer("198.18.0.2", "198.18.0.1", 1u << 20, InnerTcp("10.0.2.10", "10.0.1.10", 80)));            // 183
        frames.Add(Outer("198.18.0.2", "198.18.0.254", web3, InnerTcp("10.0.2.10", "10.0.1.10", 80)));              // transit
        frames.Add(Outer("198.18.0.2", "198.18.0.1", web3,
            Ethernet(RouterMac, NodeBMac, 0x0806, ArpRequest(NodeBMac, "10.0.2.10", "10.0.1.10"))));                  // host
        frames.Add(Outer("198.18.0.2", "198.18.0.1", web3, Ethernet(RouterMac, NodeBMac, 0x0800, new byte[20])));  // bad inner
        frames.Add(Outer("198.18.0.2", "198.18.0.1", web3,
            Outer("10.0.2.10", "10.0.1.10", web3, InnerTcp("10.0.2.10", "10.0.1.10", 80))));                          // nested
        frames.Add(Outer("198.18.0.2", "198.18.0.1", web3,
            Eth4(Ipv4("10.0.2.10", "10.0.1.10", 1, Icmp(8, 0)), RouterMac, NodeBMac)));

        var seen = new HashSet<(byte Verdict, byte Reason, bool Decap)>();
        const uint t = 3_000_000;
        foreach (var frame in frames)
        {
            string? diff = dual.Compare(frame, Eth0, t);
            Assert.True(diff == null, diff);
            var v = dual.LastBpf!.Verdict;
            seen.Add((v.Verdict, v.DropReason, (v.Flags & (ushort)PacketFlags.Decapsulated) != 0));
        }
        Assert.Contains(((byte)PacketVerdict.Tx, (byte)0, true), seen);
        Assert.Contains(((byte)PacketVerdict.Local, (byte)0, true), seen);
        Assert.Contains(((byte)PacketVerdict.Drop, (byte)172, false), seen);
        Assert.Contains(((byte)PacketVerdict.Drop, (byte)183, false), seen);
    }

    /// <summary>
    /// Frames of several 512-byte chunks through the paths that drop bytes from the front — VXLAN termination and
    /// the VLAN strip of routing (one and two tags) — which the TC entry point does by moving the packet forward
    /// 512 bytes at a time (dp_skb_pull): every chunk boundary must come out as the C# pipeline leaves it.
    /// </summary>
    [SkippableFact]
    public void LargeFramesThroughDecapAndVlanStripAgree()
    {
        DatapathFixture.RequireRoot();
        using var c = new PolicyCluster(GeneratedDifferentialTests.Policies);
        using var dual = new DualPipeline(fixture.Tracked, c.Snapshot, DatapathFixture.CtFlows) { Hook = fixture.Hook };
        uint web3 = c.Snapshot.IpCache.Lookup(IPAddress.Parse("10.0.2.10"));
        var web = c.Resolve("prod/web");
        var db = c.Resolve("prod/db");
        var frames = new List<(byte[] Frame, ushort Port)>();
        ushort sport = 41000;
        foreach (int payload in new[] { 470, 600, 1100, 1400 })
        {
            frames.Add((Outer("198.18.0.2", "198.18.0.1", web3,
                InnerTcpPayload("10.0.2.10", "10.0.1.10", 80, payload)), Eth0));
            frames.Add((Outer("2001:db8:0:1::2", "2001:db8:0:1::1", web3,
                InnerTcpPayload("10.0.2.10", "10.0.1.20", 443, payload)), Eth0));
            foreach (ushort[] vlans in new[] { new ushort[] { 100 }, [100, 200] })
                frames.Add((Eth4(Ipv4(web.Ip4, db.Ip4, 6, Tcp(sport++, 5432, 0x02, payload)), web.DstMac, web.Mac, vlans), web.Port));
        }
        int decapsulated = 0, stripped = 0;
        foreach (var (frame, port) in frames)
        {
            string? diff = dual.Compare(frame, port, 3_000_000);
            Assert.True(diff == null, diff);
            var v = dual.LastBpf!.Verdict;
            if ((v.Flags & (ushort)PacketFlags.Decapsulated) != 0) decapsulated++;
            if (port == web.Port && dual.LastBpf.Output.Length < frame.Length) stripped++;
        }
        Assert.Equal(8, decapsulated);
        Assert.True(stripped > 0, "no tagged frame was routed with its tags stripped");
    }

    private static byte[] InnerTcpPayload(string src, string dst, ushort dport, int payload) =>
        Eth4(Ipv4(src, dst, 6, Tcp(40000, dport, 0x02, payload)), RouterMac, NodeBMac);
}

/// <summary>The same tests through the TC entry point (dp_tc over an skb) instead of XDP.</summary>
public sealed class VxlanDifferentialTcTests(TcDatapathFixture fixture) : VxlanDifferentialTests(fixture), IClassFixture<TcDatapathFixture>;
