namespace Dataplane.ClusterMesh.Keys;

/// <summary>
/// Cilium's kvstore key layout (Documentation/kvstore.rst, pkg/identity/cache, pkg/node/store, pkg/ipcache,
/// pkg/clustermesh/store). These strings are a stable API between agents: never change them.
/// </summary>
public static class CiliumKeys
{
    public const string Base = "cilium";
    /// <summary>Base of the identity allocator: <c>id/</c>, <c>value/</c> and <c>locks/</c> live under it.</summary>
    public const string Identities = "cilium/state/identities/v1";
    public const string IdentityIds = Identities + "/id/";
    public const string IdentityValues = Identities + "/value/";
    public const string IdentityLocks = Identities + "/locks/";
    public const string Nodes = "cilium/state/nodes/v1/";
    /// <summary>The ipcache; "default" is the address space every agent uses.</summary>
    public const string IpCache = "cilium/state/ip/v1/default/";
    public const string Services = "cilium/state/services/v1/";
    public const string ClusterConfig = "cilium/cluster-config/";

    /// <summary><c>cilium/state/identities/v1/id/&lt;ID&gt;</c> → the label key.</summary>
    public static string IdentityId(uint id) => IdentityIds + id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>All per-node keys of one label set: <c>…/value/&lt;labels&gt;/</c>.</summary>
    public static string IdentityValuePrefix(string labelKey) => IdentityValues + labelKey + "/";

    /// <summary><c>…/value/&lt;labels&gt;/&lt;node suffix&gt;</c> → the ID, bound to that node's lease.</summary>
    public static string IdentityValue(string labelKey, string nodeSuffix) => IdentityValuePrefix(labelKey) + nodeSuffix;

    public static string IdentityLock(string labelKey) => IdentityLocks + labelKey;

    public static string NodePrefix(string cluster) => Nodes + cluster + "/";
    public static string Node(string cluster, string node) => NodePrefix(cluster) + node;

    public static string Ip(string ip) => IpCache + ip;

    public static string ServicePrefix(string cluster) => Services + cluster + "/";
    public static string Service(string cluster, string ns, string name) => ServicePrefix(cluster) + ns + "/" + name;

    public static string ClusterConfigOf(string cluster) => ClusterConfig + cluster;
}
