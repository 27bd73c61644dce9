namespace Dataplane.Core.Snapshot;

public enum PortKind : byte
{
    /// <summary>A node interface (uplink, underlay).</summary>
    Interface = 0,
    /// <summary>The host side of a local pod's veth.</summary>
    Endpoint = 1,
}

/// <summary>A port the pipeline can receive from and transmit on. Index = port number in packet metadata.</summary>
public sealed record PortInfo(ushort Id, string Name, PortKind Kind, ulong Mac, int Mtu, uint Endpoint);
