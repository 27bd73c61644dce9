using Dataplane.Core.Pcap;
using Dataplane.Core.Tests.Pcap;
using Dataplane.Core.Tests.Support;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Overlay;

/// <summary>
/// Our encapsulated packets judged by decoders nobody here wrote: tshark and scapy must see VXLAN (IPv4 and IPv6
/// outer) and SRv6 (1 and 3 segments) with the right VNI / segments, and every outer and inner checksum valid.
/// </summary>
public class IndependentDecodeTests
{
    /// <summary>Frames 1-2: VXLAN over IPv4 (TCP, ICMP inner); 3: VXLAN over IPv6 (UDP/IPv6 inner);
    /// 4: SRv6 one segment (TCP inner); 5: SRv6 three segments (UDP/IPv6 inner).</summary>
    private static (string Path, uint WebIdentity) Capture(TempDir dir)
    {
        using var v4 = new OverlayNode();
        using var v6 = new OverlayNode(OverlayNode.Yaml(overlay: "    underlay: ipv6"));
        using var sr3 = new OverlayNode(OverlayNode.Yaml(overlay: """
                peers:
                - {node: node-c, segments: ["2001:db8:b::1", "2001:db8:b::2"]}
            """));
        ulong r = OverlayNode.RouterMac, w = OverlayNode.WebMac;
        var frames = new[]
        {
            v4.Run(Eth4(Ipv4("198.18.100.10", "198.18.101.20", 6, Tcp(40000, 80, payload: 100)), r, w), OverlayNode.WebPort).Out,
            v4.Run(Eth4(Ipv4("198.18.100.10", "198.18.101.20", 1, Icmp(8, 0, payload: 56)), r, w), OverlayNode.WebPort).Out,
            v6.Run(Eth6(Ipv6("fd00:100::10", "fd00:101::20", 17, Udp(5353, 53, new byte[77])), r, w), OverlayNode.WebPort).Out,
            v4.Run(Eth4(Ipv4("198.18.100.10", "198.18.102.7", 6, Tcp(40001, 443, payload: 64)), r, w), OverlayNode.WebPort).Out,
            sr3.Run(Eth6(Ipv6("fd00:100::10", "fd00:102::7", 17, Udp(5000, 6000, new byte[31])), r, w), OverlayNode.WebPort).Out,
        };
        string path = dir["overlay.pcap"];
        using (var pcap = PcapWriter.Create(path))
            for (int i = 0; i < frames.Length; i++) pcap.Write(1_700_000_000_000_000_000L + i * 1000L, frames[i]);
        return (path, v4.IdentityOf("web"));
    }

    [SkippableFact]
    public void TsharkDecodesVxlanAndSrv6WithValidChecksums()
    {
        using var dir = new TempDir();
        var (path, web) = Capture(dir);
        string output = ExternalTool.Run("tshark", "-r", path, "-n", "-d", "udp.port==8472,vxlan",
            "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
            "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,",
            "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "tcp.checksum.status",
            "-e", "vxlan.vni", "-e", "ipv6.routing.segleft", "-e", "ipv6.routing.srh.addr", "-e", "ip.dst", "-e", "ipv6.dst",
            "-e", "icmp.checksum.status");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')).ToArray();
        Assert.True(lines.Length == 5, output);
        // Wireshark's checksum status: 1 = good; 3 = not present, the zero outer UDP checksum over IPv4 (RFC 7348 allows
        // it, Linux and Cilium send it).
        Assert.Equal(["1,1", "3", "1", web.ToString(System.Globalization.CultureInfo.InvariantCulture)], lines[0][..4]);
        Assert.Equal("198.18.0.2,198.18.101.20", lines[0][6]);
        Assert.Equal(["1,1", "3", "", web.ToString(System.Globalization.CultureInfo.InvariantCulture)], lines[1][..4]);
        Assert.Equal("1", lines[1][8]);
        Assert.Equal(["", "1,1", ""], lines[2][..3]);
        Assert.Equal("2001:db8:0:1::2,fd00:101::20", lines[2][7]);
        Assert.Equal(["1", "", "1", "", "0", "2001:db8:c::4"], lines[3][..6]);
        Assert.Equal(["", "1", "", "", "2"], lines[4][..5]);
        Assert.Equal("2001:db8:c::6,2001:db8:b::2,2001:db8:b::1", lines[4][5]);
    }

    private const string Scapy = """
        import sys
        from scapy.all import rdpcap, Ether, UDP
        from scapy.layers.vxlan import VXLAN
        from scapy.layers.inet6 import IPv6ExtHdrSegmentRouting
        from scapy.packet import bind_layers
        bind_layers(UDP, VXLAN, dport=8472)
        for i, p in enumerate(rdpcap(sys.argv[1])):
            # Recompute every checksum by deleting it and rebuilding the whole frame; compare field by field.
            q = p.copy()
            layer = q
            names = []
            while layer and layer.name != 'NoPayload':
                if any(f.name == 'chksum' for f in layer.fields_desc) and not (isinstance(layer, UDP) and layer.chksum == 0 and layer.underlayer.name == 'IP'):
                    layer.chksum = None
                    names.append(layer.name)
                layer = layer.payload
            r = Ether(bytes(q))
            ok = bytes(r) == bytes(p)
            desc = []
            if VXLAN in p: desc.append('vni=%d' % p[VXLAN].vni)
            if IPv6ExtHdrSegmentRouting in p:
                s = p[IPv6ExtHdrSegmentRouting]
                desc.append('segleft=%d addrs=%s' % (s.segleft, ','.join(s.addresses)))
            print('%d %s checked=%s %s' % (i + 1, 'OK' if ok else 'BAD', '+'.join(names), ' '.join(desc)))
        """;

    [SkippableFact]
    public void ScapyRecomputesTheSameChecksumsAndReadsTheHeaders()
    {
        using var dir = new TempDir();
        var (path, web) = Capture(dir);
        File.WriteAllText(dir["check.py"], Scapy);
        var (exit, stdout, stderr) = Sh.Run(TimeSpan.FromSeconds(60), Sh.Python, [dir["check.py"], path]);
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.All(lines, l => Assert.Contains(" OK ", l));
        Assert.Equal($"1 OK checked=IP+IP+TCP vni={web}", lines[0]);
        Assert.Equal($"2 OK checked=IP+IP+ICMP vni={web}", lines[1]);
        Assert.Equal($"3 OK checked=UDP+UDP vni={web}", lines[2]);
        Assert.Equal("4 OK checked=IP+TCP segleft=0 addrs=2001:db8:c::4", lines[3]);
        Assert.Equal("5 OK checked=UDP segleft=2 addrs=2001:db8:c::6,2001:db8:b::2,2001:db8:b::1", lines[4]);
    }
}
