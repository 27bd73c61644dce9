using System.Buffers.Binary;

namespace Dataplane.Ebpf.Tests.Support;

/// <summary>
/// Seeded, deterministic packets over the <see cref="PolicyCluster"/> topology: TCP/UDP/SCTP/ICMP/other between
/// local pods, remote pods, the node, the world, multicast and unrouted addresses; replies and repeats of
/// earlier flows (so conntrack sees handshakes, replies and teardowns); ICMP errors quoting earlier flows; ARP
/// and neighbour solicitations; VLAN/QinQ tags, IPv4 options, IPv6 extension headers and fragments, low TTLs;
/// wrong in-ports; then a share of them mutated (bytes flipped, truncated, extended — sometimes with the IPv4
/// header checksum repaired so the damage reaches the deeper stages).
/// </summary>
public sealed class PacketGenerator(PolicyCluster cluster, int seed)
{
    private readonly Random _rnd = new(seed);
    private readonly List<Flow> _flows = [];

    private sealed record Flow(string From, string To, byte Proto, ushort SrcPort, ushort DstPort, bool V6);

    private static readonly string[] Hosts =
    [
        "prod/web", "prod/db", "prod/client", "dev/client", "kube-system/coredns", "prod/api", "dev/tester",
        "203.0.113.9", "8.8.8.8", "198.18.0.1", "198.18.0.2", "198.18.0.254", "10.0.1.99", "198.18.0.77",
    ];

    private static readonly Dictionary<string, string> V6Of = new()
    {
        ["203.0.113.9"] = "2001:db8:ffff::9", ["8.8.8.8"] = "2001:db8:8888::8", ["198.18.0.1"] = "2001:db8:0:1::1",
        ["198.18.0.2"] = "2001:db8:0:1::2", ["198.18.0.254"] = "2001:db8:0:1::fe", ["10.0.1.99"] = "fd00:1::99",
        ["198.18.0.77"] = "2001:db8:0:1::77",
    };

    private static readonly string[] Special4 = ["224.0.0.5", "255.255.255.255", "239.1.2.3"];
    private static readonly string[] Special6 = ["ff02::1", "fe80::1", "ff05::2"];

    public uint Now { get; private set; } = 1_000_000;

    /// <summary>The next frame, its in-port and the clock it is received at.</summary>
    public (byte[] Frame, ushort InPort, uint Now) Next()
    {
        double r = _rnd.NextDouble();
        if (r < 0.04) Now += (uint)_rnd.Next(1, 6);
        else if (r < 0.05) Now += (uint)_rnd.Next(7, 120);
        else if (r < 0.0502) Now += 30_000;

        double kind = _rnd.NextDouble();
        byte[] frame; ushort port;
        if (kind < 0.04) (frame, port) = Arp();
        else if (kind < 0.07) (frame, port) = Solicitation();
        else (frame, port) = Ip();
        if (_rnd.NextDouble() < 0.03) port = (ushort)_rnd.Next(0, 12);
        if (_rnd.NextDouble() < 0.25) frame = Mutate(frame);
        return (frame, port, Now);
    }

    private (string Ip, bool Has) Addr(string who, bool v6)
    {
        var h = cluster.Resolve(who);
        if (!v6) return (h.Ip4, true);
        if (h.Local || h.Ip6 != h.Ip4) return (h.Ip6 ?? "", h.Ip6 != null);
        return V6Of.TryGetValue(who, out var a) ? (a, true) : ("", false);
    }

    private (byte[], ushort) Ip()
    {
        Flow flow;
        bool reverse = false;
        if (_flows.Count > 0 && _rnd.NextDouble() < 0.35)
        {
            flow = _flows[_rnd.Next(_flows.Count)];
            reverse = _rnd.NextDouble() < 0.6;
        }
        else
        {
            string from = Hosts[_rnd.Next(Hosts.Length)], to = Hosts[_rnd.Next(Hosts.Length)];
            bool v6 = _rnd.NextDouble() < 0.35 && Addr(from, true).Has && Addr(to, true).Has;
            double p = _rnd.NextDouble();
            byte newProto = p < 0.4 ? (byte)6 : p < 0.65 ? (byte)17 : p < 0.85 ? (v6 ? (byte)58 : (byte)1) : p < 0.92 ? (byte)132 : (byte)47;
            ushort newDport = newProto is 1 or 58 ? (ushort)(v6 ? 128 : 8)
                : (ushort)(_rnd.NextDouble() < 0.7 ? new ushort[] { 53, 80, 443, 5432, 6000, 6050, 6100, 6101, 8080 }[_rnd.Next(9)] : _rnd.Next(1, 65536));
            flow = new Flow(from, to, newProto, (ushort)_rnd.Next(1024, 65536), newDport, v6);
            if (_flows.Count < 400) _flows.Add(flow); else _flows[_rnd.Next(_flows.Count)] = flow;
        }
        string src = reverse ? flow.To : flow.From, dst = reverse ? flow.From : flow.To;
        if (_rnd.NextDouble() < 0.03) dst = "multicast";
        var s = cluster.Resolve(src);
        string srcIp = Addr(src, flow.V6).Ip;
        string dstIp = dst == "multicast"
            ? (flow.V6 ? Special6[_rnd.Next(Special6.Length)] : Special4[_rnd.Next(Special4.Length)])
            : Addr(dst, flow.V6).Ip;
        ushort sport = reverse ? flow.DstPort : flow.SrcPort, dport = reverse ? flow.SrcPort : flow.DstPort;

        byte[] l4;
        byte proto = flow.Proto;
        if (_rnd.NextDouble() < 0.08 && _flows.Count > 0) { l4 = IcmpError(flow.V6); proto = flow.V6 ? (byte)58 : (byte)1; }
        else l4 = proto switch
        {
            6 => PacketBuilder.Tcp(sport, dport, TcpFlags(reverse), payload: _rnd.Next(0, 3) * 100),
            17 => PacketBuilder.Udp(sport, dport, new byte[_rnd.Next(0, 64)]),
            1 => PacketBuilder.Icmp(reverse ? (byte)0 : (byte)8, 0, flow.SrcPort),
            58 => PacketBuilder.Icmp6(reverse ? (byte)129 : (byte)128, 0, flow.SrcPort),
            132 => [(byte)(sport >> 8), (byte)sport, (byte)(dport >> 8), (byte)dport, 1, 2, 3, 4, 0, 0, 0, 0],
            _ => new byte[_rnd.Next(0, 40)],
        };
        byte ttl = _rnd.NextDouble() switch { < 0.04 => 1, < 0.06 => 0, _ => 64 };
        byte[] ip = flow.V6
            ? PacketBuilder.Ipv6(srcIp, dstIp, proto, l4, ttl, ExtHeaders())
            : PacketBuilder.Ipv4(srcIp, dstIp, proto, l4, ttl, _rnd.NextDouble() < 0.06 ? Ipv4Options() : null,
                fragField: _rnd.NextDouble() < 0.05 ? (ushort)(_rnd.Next(0, 2) * 0x2000 | _rnd.Next(0, 3)) : (ushort)0x4000);
        var frame = PacketBuilder.Ethernet(s.DstMac, s.Mac, flow.V6 ? (ushort)0x86DD : (ushort)0x0800, ip, Vlans());
        return (frame, s.Port);
    }

    private byte TcpFlags(bool reverse)
    {
        double f = _rnd.NextDouble();
        if (!reverse) return f switch { < 0.4 => 0x02, < 0.75 => 0x10, < 0.85 => 0x18, < 0.95 => 0x11, _ => 0x04 };
        return f switch { < 0.45 => 0x12, < 0.75 => 0x10, < 0.9 => 0x11, _ => 0x14 };
    }

    private byte[] IcmpError(bool v6)
    {
        var q = _flows[_rnd.Next(_flows.Count)];
        bool rev = _rnd.NextDouble() < 0.5;
        string a = Addr(rev ? q.To : q.From, q.V6).Ip, b = Addr(rev ? q.From : q.To, q.V6).Ip;
        ushort sp = rev ? q.DstPort : q.SrcPort, dp = rev ? q.SrcPort : q.DstPort;
        byte[] inner = q.Proto switch
        {
            6 => PacketBuilder.Tcp(sp, dp),
            17 => PacketBuilder.Udp(sp, dp),
            1 => PacketBuilder.Icmp(8, 0, q.SrcPort),
            58 => PacketBuilder.Icmp6(128, 0, q.SrcPort),
            _ => new byte[8],
        };
        byte[] quoted = q.V6 ? PacketBuilder.Ipv6(a, b, q.Proto, inner) : PacketBuilder.Ipv4(a, b, q.Proto, inner);
        int keep = Math.Min(quoted.Length, (q.V6 ? 40 : 20) + _rnd.Next(0, 12));
        var icmp = new byte[8 + keep];
        icmp[0] = v6 ? (byte)_rnd.Next(1, 5) : new byte[] { 3, 11, 12, 4, 5 }[_rnd.Next(5)];
        icmp[1] = (byte)_rnd.Next(0, 4);
        quoted.AsSpan(0, keep).CopyTo(icmp.AsSpan(8));
        return icmp;
    }

    private ushort[] Vlans() => _rnd.NextDouble() switch
    {
        < 0.08 => [(ushort)_rnd.Next(1, 4095)],
        < 0.11 => [(ushort)_rnd.Next(1, 4095), (ushort)_rnd.Next(1, 4095)],
        < 0.12 => [1, 2, 3],
        _ => [],
    };

    private byte[] Ipv4Options()
    {
        var o = new byte[4 * _rnd.Next(1, 11)];
        Array.Fill(o, (byte)1);
        o[^1] = 0;
        return o;
    }

    private (byte, byte[])[] ExtHeaders()
    {
        if (_rnd.NextDouble() > 0.15) return [];
        var list = new List<(byte, byte[])>();
        int n = _rnd.Next(1, 11);
        for (int i = 0; i < n; i++)
        {
            switch (_rnd.Next(6))
            {
                case 0: list.Add(PacketBuilder.Options(0, _rnd.Next(0, 2))); break;
                case 1: list.Add(PacketBuilder.Options(60, _rnd.Next(0, 2))); break;
                case 2: list.Add(PacketBuilder.Srh((byte)_rnd.Next(0, 3), "2001:db8::1", "2001:db8::2")); break;
                case 3: list.Add(PacketBuilder.Fragment((ushort)(_rnd.NextDouble() < 0.5 ? 0 : _rnd.Next(1, 100)), _rnd.NextDouble() < 0.5)); break;
                case 4: list.Add((51, new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })); break; // AH: (1+2)*4 = 12 bytes
                default: list.Add((43, new byte[] { 0, 0, 0, 0, 0, 0, 0 })); break; // routing type 0
            }
        }
        return [.. list];
    }

    private (byte[], ushort) Arp()
    {
        string who = Hosts[_rnd.Next(Hosts.Length)], target = Hosts[_rnd.Next(Hosts.Length)];
        var s = cluster.Resolve(who);
        string tpa = _rnd.NextDouble() < 0.1 ? "0.0.0.0" : _rnd.NextDouble() < 0.1 ? s.Ip4 : cluster.Resolve(target).Ip4;
        var arp = PacketBuilder.ArpRequest(s.Mac, s.Ip4, tpa, op: _rnd.NextDouble() < 0.85 ? (ushort)1 : (ushort)2);
        return (PacketBuilder.Ethernet(0xFFFF_FFFF_FFFF, s.Mac, 0x0806, arp, Vlans()), s.Port);
    }

    private (byte[], ushort) Solicitation()
    {
        string who = Hosts[_rnd.Next(5)], target = Hosts[_rnd.Next(Hosts.Length)];
        var s = cluster.Resolve(who);
        bool dad = _rnd.NextDouble() < 0.15;
        string src = dad ? "::" : _rnd.NextDouble() < 0.3 ? "fe80::1:2" : (Addr(who, true).Has ? Addr(who, true).Ip : "fe80::9");
        string tgt = Addr(target, true).Has ? Addr(target, true).Ip : "fd00:1::77";
        var ns = PacketBuilder.NeighborSolicitation(tgt, dad || _rnd.NextDouble() < 0.3 ? null : s.Mac);
        if (_rnd.NextDouble() < 0.1) ns[0] = (byte)_rnd.Next(133, 138);
        byte hop = _rnd.NextDouble() < 0.9 ? (byte)255 : (byte)64;
        var ip = PacketBuilder.Ipv6(src, "ff02::1:ff00:1", 58, ns, hop);
        return (PacketBuilder.Ethernet(0x3333_ff00_0001, s.Mac, 0x86DD, ip, Vlans()), s.Port);
    }

    private byte[] Mutate(byte[] frame)
    {
        var b = frame.ToList();
        switch (_rnd.Next(4))
        {
            case 0:
            case 1:
                for (int i = 0, n = _rnd.Next(1, 4); i < n && b.Count > 0; i++) b[_rnd.Next(b.Count)] ^= (byte)_rnd.Next(1, 256);
                break;
            case 2: b = b.Take(_rnd.Next(14, Math.Max(15, frame.Length))).ToList(); break; // runts never reach XDP
            default: for (int i = 0, n = _rnd.Next(1, 64); i < n; i++) b.Add((byte)_rnd.Next(256)); break;
        }
        var result = b.ToArray();
        if (_rnd.NextDouble() < 0.5) RepairIpv4Checksum(result);
        return result;
    }

    /// <summary>Recomputes the IPv4 header checksum of an untagged IPv4 frame when the header is intact enough.</summary>
    private static void RepairIpv4Checksum(byte[] f)
    {
        if (f.Length < 34 || f[12] != 0x08 || f[13] != 0x00) return;
        int ihl = (f[14] & 0x0F) * 4;
        if (ihl < 20 || 14 + ihl > f.Length) return;
        f[24] = f[25] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(24), PacketBuilder.Checksum(f.AsSpan(14, ihl)));
    }
}
