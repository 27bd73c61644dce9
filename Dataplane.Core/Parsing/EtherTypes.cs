namespace Dataplane.Core.Parsing;

/// <summary>Protocol numbers the parsers recognise (host order).</summary>
public static class EtherTypes
{
    public const ushort Ipv4 = 0x0800;
    public const ushort Arp = 0x0806;
    public const ushort Vlan = 0x8100;   // 802.1Q C-tag
    public const ushort QinQ = 0x88A8;   // 802.1ad S-tag
    public const ushort Ipv6 = 0x86DD;
}

public static class IpProtocols
{
    public const byte HopByHop = 0;
    public const byte Icmp = 1;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Ipv6Route = 43;
    public const byte Ipv6Frag = 44;
    public const byte Esp = 50;
    public const byte Ah = 51;
    public const byte Icmpv6 = 58;
    public const byte NoNext = 59;
    public const byte DestOpts = 60;
    public const byte Sctp = 132;
}

public static class TcpFlagBits
{
    public const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10, Urg = 0x20, Ece = 0x40, Cwr = 0x80;
}

/// <summary>Fixed header sizes.</summary>
public static class HeaderSizes
{
    public const int Ethernet = 14;
    public const int VlanTag = 4;
    public const int Arp = 28;
    public const int Ipv4 = 20;
    public const int Ipv6 = 40;
    public const int Tcp = 20;
    public const int Udp = 8;
    public const int Icmp = 8;
    public const int Vxlan = 8;
    public const int Srh = 8;
}
