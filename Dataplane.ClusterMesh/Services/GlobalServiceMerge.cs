using System.Net;
using Dataplane.ClusterMesh.Model;

namespace Dataplane.ClusterMesh.Services;

/// <summary>One backend of a merged global service: which cluster it is in, its address and its named port.</summary>
public sealed record MeshBackend(string Cluster, uint ClusterId, IPAddress Address, string PortName, string Protocol, ushort Port, bool Local);

/// <summary>
/// Merges a global service's backends across clusters, as Cilium's service merger and load balancer do:
/// a service that is not global uses its local backends only; a global one adds the backends of every remote
/// cluster that shares the same namespace/name (<c>shared: true</c>); affinity then picks — <c>local</c>: the
/// local backends while there is at least one, else the remote ones; <c>remote</c>: the reverse; <c>none</c>:
/// all. A pure function (no I/O), ordered deterministically: local first, then by cluster ID, address, port
/// name — so the services engineer can feed it straight into a backend table (e.g. Maglev).
/// </summary>
public static class GlobalServiceMerge
{
    /// <param name="local">This cluster's record of the service (its ready backends; IncludeExternal = global).</param>
    /// <param name="affinity">The service's affinity annotation.</param>
    /// <param name="remote">Records of the same namespace/name from remote clusters.</param>
    public static List<MeshBackend> Backends(ClusterService local, ServiceAffinity affinity, IEnumerable<ClusterService> remote)
    {
        var mine = Expand(local, isLocal: true);
        if (!local.IncludeExternal) return mine;
        var theirs = new List<MeshBackend>();
        foreach (var r in remote.Where(r => r.Shared && r.Cluster != local.Cluster
                                             && r.Namespace == local.Namespace && r.Name == local.Name)
                     .OrderBy(r => r.ClusterId).ThenBy(r => r.Cluster, StringComparer.Ordinal))
            theirs.AddRange(Expand(r, isLocal: false));
        return affinity switch
        {
            ServiceAffinity.Local => mine.Count > 0 ? mine : theirs,
            ServiceAffinity.Remote => theirs.Count > 0 ? theirs : mine,
            _ => [.. mine, .. theirs],
        };
    }

    private static List<MeshBackend> Expand(ClusterService s, bool isLocal)
    {
        var list = new List<MeshBackend>();
        foreach (var (ip, ports) in s.Backends)
        {
            if (!IPAddress.TryParse(ip, out var addr)) continue;
            foreach (var (name, l4) in ports)
                list.Add(new MeshBackend(s.Cluster, s.ClusterId, addr, name, l4.Protocol, l4.Port, isLocal));
        }
        list.Sort((a, b) =>
        {
            int c = a.Address.AddressFamily.CompareTo(b.Address.AddressFamily);
            if (c == 0) c = a.Address.GetAddressBytes().AsSpan().SequenceCompareTo(b.Address.GetAddressBytes());
            return c != 0 ? c : string.CompareOrdinal(a.PortName, b.PortName);
        });
        return list;
    }
}
