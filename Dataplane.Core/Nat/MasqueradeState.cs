namespace Dataplane.Core.Nat;

/// <summary>
/// Compiled masquerade settings: whether pod traffic leaving through a node interface is SNATed, the
/// destinations exempt from it (every node's pod CIDRs plus the configured non-masquerade CIDRs), the NAT port
/// range, and per port the address it masquerades to (IPv4 host order / IPv6; 0 = the port has none).
/// </summary>
public sealed class MasqueradeState(bool enabled, CidrList exempt, ushort portMin, ushort portMax, uint[] portIpv4, UInt128[] portIpv6)
{
    public static MasqueradeState Disabled { get; } = new(false, CidrList.Empty, 32768, 65535, [], []);

    public bool Enabled { get; } = enabled;
    public CidrList Exempt { get; } = exempt;
    public ushort PortMin { get; } = portMin;
    public ushort PortMax { get; } = portMax;
    public uint[] PortIpv4 { get; } = portIpv4;
    public UInt128[] PortIpv6 { get; } = portIpv6;

    /// <summary>The address traffic leaving through <paramref name="port"/> is masqueraded to, or 0.</summary>
    public UInt128 AddressOf(ushort port, byte family) =>
        family == 4 ? ((uint)port < (uint)PortIpv4.Length ? PortIpv4[port] : 0)
                    : ((uint)port < (uint)PortIpv6.Length ? PortIpv6[port] : UInt128.Zero);
}
