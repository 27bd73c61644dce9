
namespace Dataplane.Ebpf.Tests.Support;

/// <summary>The frame <see cref="PolicyCluster.Send"/> builds for a probe, and the port it arrives on.</summary>
public static class ProbeFrames
{
    public static (byte[] Frame, ushort InPort) Build(PolicyCluster c, string from, string to, string proto, int port,
        bool v6 = false, ushort sport = 40000, byte tcpFlags = 0x02, ushort icmpId = 0x1234)
    {
        var f = c.Resolve(from);
        var t = c.Resolve(to);
        string src = v6 ? f.Ip6! : f.Ip4, dst = v6 ? t.Ip6! : t.Ip4;
        byte[] l4 = proto switch
        {
            "tcp" => PacketBuilder.Tcp(sport, (ushort)port, tcpFlags),
            "udp" => PacketBuilder.Udp(sport, (ushort)port),
            "sctp" => [(byte)(sport >> 8), (byte)sport, (byte)(port >> 8), (byte)port, 0, 0, 0, 0, 0, 0, 0, 0],
            "icmp" => v6 ? PacketBuilder.Icmp6((byte)port, 0, icmpId) : PacketBuilder.Icmp((byte)port, 0, icmpId),
            _ => throw new ArgumentException(proto),
        };
        byte p = proto switch { "tcp" => 6, "udp" => 17, "sctp" => 132, _ => v6 ? (byte)58 : (byte)1 };
        var frame = v6
            ? PacketBuilder.Eth6(PacketBuilder.Ipv6(src, dst, p, l4), f.DstMac, f.Mac)
            : PacketBuilder.Eth4(PacketBuilder.Ipv4(src, dst, p, l4), f.DstMac, f.Mac);
        return (frame, f.Port);
    }
}
