using System.Runtime.InteropServices;

namespace Dataplane.Core.Services;

/// <summary>Which traffic policy a frontend follows: ClusterIP (internalTrafficPolicy) or NodePort / LoadBalancer /
/// external IP (externalTrafficPolicy).</summary>
public enum FrontendScope : byte { Internal = 0, External = 1 }

/// <summary>Which Kubernetes field a frontend came from (read by backends that offload only some kinds).</summary>
public enum FrontendKind : byte { ClusterIp = 0, ExternalIp = 1, NodePort = 2 }

/// <summary>
/// One service frontend (VIP, port, protocol) as a 32-byte slot of <see cref="FrontendTable"/>. <see cref="Set"/>
/// indexes <see cref="ServiceState.Sets"/> (0 = the empty set: no backend, drop 158), <see cref="Service"/> indexes
/// <see cref="ServiceState.Services"/>; <see cref="Used"/> marks an occupied slot.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct Frontend
{
    [FieldOffset(0)] public UInt128 Addr;
    [FieldOffset(16)] public ushort Port;
    [FieldOffset(18)] public byte Proto;
    [FieldOffset(19)] public byte Family;
    [FieldOffset(20)] public int Set;
    [FieldOffset(24)] public int Service;
    [FieldOffset(28)] public FrontendScope Scope;
    [FieldOffset(29)] public bool Used;
    [FieldOffset(30)] public FrontendKind Kind;
    /// <summary>A Local traffic policy left remote backends out of <see cref="Set"/> (selection differs from the
    /// cluster-wide set).</summary>
    [FieldOffset(31)] public bool LocalNarrowed;
}

/// <summary>A backend address and port (IPv4 in the low 32 bits).</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public readonly struct Backend(UInt128 addr, ushort port, bool local, byte cluster = 0)
{
    [FieldOffset(0)] public readonly UInt128 Addr = addr;
    [FieldOffset(16)] public readonly ushort Port = port;
    /// <summary>Runs on this node (eligible under a Local traffic policy).</summary>
    [FieldOffset(18)] public readonly bool Local = local;
    /// <summary>
    /// Cluster Mesh with overlapping pod CIDRs: the ID of the remote cluster this backend is in (IPv4 only, as
    /// Cilium's cluster-aware addressing). Such a backend is reached by (cluster, address) through the tunnel to
    /// its node and the connection is SNATed to this node's tunnel address; 0 = routed by address.
    /// </summary>
    [FieldOffset(19)] public readonly byte Cluster = cluster;
}

/// <summary>
/// The backends new connections of one frontend may go to (active ones; all or node-local only) and, for Maglev,
/// their lookup ring of backend indices (empty for random selection).
/// </summary>
public sealed class BackendSet(Backend[] backends, int[] ring)
{
    public static BackendSet Empty { get; } = new([], []);

    public Backend[] Backends { get; } = backends;
    public int[] Ring { get; } = ring;

    /// <summary>Index of the backend with this address and port, or -1 (affinity re-check; new flows only). With
    /// overlapping clusters an address may be in the set twice: the first (this cluster's, sorted first) is kept.</summary>
    public int IndexOf(UInt128 addr, ushort port)
    {
        var b = Backends;
        for (int i = 0; i < b.Length; i++)
            if (b[i].Addr == addr && b[i].Port == port) return i;
        return -1;
    }
}

/// <summary>A service port as load balancing needs it: its stable id (affinity key) and ClientIP affinity timeout
/// (0 = no affinity).</summary>
public sealed record ServiceInfo(string Name, uint Id, uint AffinityTimeout);
