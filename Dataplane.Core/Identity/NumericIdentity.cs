namespace Dataplane.Core.Identity;

/// <summary>
/// Cilium's numeric identities (pkg/identity/numericidentity.go). Reserved 1–10 are fixed; 100–115 are the
/// well-known identities of a default installation; cluster-scoped identities are allocated from 256; CIDR
/// identities are node-local and carry the local-scope bit (1 &lt;&lt; 24).
/// </summary>
public static class NumericIdentity
{
    public const uint Unknown = 0, Host = 1, World = 2, Unmanaged = 3, Health = 4, Init = 5, RemoteNode = 6,
        KubeApiServer = 7, Ingress = 8, WorldIpv4 = 9, WorldIpv6 = 10;

    /// <summary>Well-known identity of kube-dns/CoreDNS in kube-system (Cilium's fixed 102).</summary>
    public const uint KubeDns = 102;

    public const uint MinimalAllocation = 256;
    public const uint MaxClusterAllocation = (1u << 16) - 1;
    public const uint LocalScopeFlag = 1u << 24;
    /// <summary>Identities of remote nodes with per-node labels (Cilium's IdentityScopeRemoteNode), node-local.</summary>
    public const uint RemoteNodeScopeFlag = 2u << 24;
    public const uint ScopeMask = 0xFF00_0000;

    /// <summary>Reserved identity names as Cilium spells them (reserved:&lt;name&gt; labels, entities).</summary>
    public static string? ReservedName(uint id) => id switch
    {
        Host => "host", World => "world", Unmanaged => "unmanaged", Health => "health", Init => "init",
        RemoteNode => "remote-node", KubeApiServer => "kube-apiserver", Ingress => "ingress",
        WorldIpv4 => "world-ipv4", WorldIpv6 => "world-ipv6", _ => null,
    };

    public static bool IsReserved(uint id) => id is >= Host and <= WorldIpv6;

    public static bool IsLocalScope(uint id) => (id & ScopeMask) == LocalScopeFlag;

    public static bool IsRemoteNodeScope(uint id) => (id & ScopeMask) == RemoteNodeScopeFlag;

    public static bool IsWorld(uint id) => id is World or WorldIpv4 or WorldIpv6;
}
