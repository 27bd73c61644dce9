using System.Runtime.InteropServices;

namespace Dataplane.Core.Services;

/// <summary>
/// What the service, egress gateway and masquerade stages decided for one new connection of the batch, for
/// the conntrack commit to record: the DNAT done (original VIP:port and the backend) and whether, and to which
/// address, the connection is to be SNATed (0 = the address of the interface the route leaves by).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct NatIntent
{
    [FieldOffset(0)] public UInt128 OrigAddr;
    [FieldOffset(16)] public UInt128 BackendAddr;
    [FieldOffset(32)] public UInt128 SnatAddr;
    [FieldOffset(48)] public ushort OrigPort;
    [FieldOffset(50)] public ushort BackendPort;
    [FieldOffset(52)] public bool Dnat;
    [FieldOffset(53)] public bool Snat;
    /// <summary>The backend is in this other cluster (<see cref="Backend.Cluster"/>): recorded in the DNAT entry.</summary>
    [FieldOffset(54)] public byte Cluster;
}
