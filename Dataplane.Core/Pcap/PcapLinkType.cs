namespace Dataplane.Core.Pcap;

/// <summary>LINKTYPE_* values (tcpdump.org link-layer header types) that this project reads and writes.</summary>
public static class PcapLinkType
{
    /// <summary>Returned by <see cref="PcapReader.LinkType"/> for a pcapng file that has no interface yet.</summary>
    public const int Unknown = -1;
    public const int Null = 0;
    public const int Ethernet = 1;
    public const int Raw = 101;
    public const int LinuxSll = 113;
    public const int Ipv4 = 228;
    public const int Ipv6 = 229;
}
