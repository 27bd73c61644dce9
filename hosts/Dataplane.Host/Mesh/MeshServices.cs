using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Services;
using Dataplane.Control.Config;
using Dataplane.Core.Parsing;

namespace Dataplane.Host.Mesh;

/// <summary>
/// Global services between this node's config and Cluster Mesh: what this cluster exports for a Service annotated
/// <c>service.cilium.io/global: "true"</c> (its ready backends, as Cilium's ClusterService), and the EndpointSlices
/// the service compiler sees once <see cref="GlobalServiceMerge"/> added the remote clusters' backends (reached
/// through the tunnel like any remote pod) or, with affinity, picked one side.
/// </summary>
public static class MeshServices
{
    /// <summary>This cluster's record of every global service in <paramref name="model"/>.</summary>
    public static List<ClusterService> Exported(ConfigModel model, string cluster, uint clusterId)
    {
        var slices = model.EndpointSlices.ToLookup(s => (s.Namespace, s.ServiceName));
        var list = new List<ClusterService>();
        foreach (var svc in model.Services)
        {
            var ann = GlobalServiceAnnotations.From(svc.Annotations);
            if (ann.Global) list.Add(Local(svc, slices[(svc.Namespace, svc.Name)], ann, cluster, clusterId));
        }
        return list;
    }

    private static ClusterService Local(ServiceSpec svc, IEnumerable<EndpointSliceSpec> slices, GlobalServiceAnnotations ann,
        string cluster, uint clusterId)
    {
        var frontends = new Dictionary<string, Dictionary<string, L4Addr>>();
        foreach (var ip in svc.ClusterIps)
        {
            // Keyed by port name as Cilium does (a name repeated across protocols keeps the last).
            var ports = new Dictionary<string, L4Addr>();
            foreach (var p in svc.Ports) ports[p.Name] = new L4Addr(Proto(p.Protocol), p.Port);
            frontends[ip.ToString()] = ports;
        }
        var backends = new Dictionary<string, Dictionary<string, L4Addr>>();
        foreach (var slice in slices)
            foreach (var ep in slice.Endpoints)
            {
                // As Cilium exports them: only backends that take new connections.
                if (!ep.Ready || ep.Terminating) continue;
                foreach (var a in ep.Addresses)
                {
                    if (!backends.TryGetValue(a.ToString(), out var ports)) backends[a.ToString()] = ports = [];
                    foreach (var p in slice.Ports) ports[p.Name] = new L4Addr(Proto(p.Protocol), p.Port);
                }
            }
        return new ClusterService
        {
            Cluster = cluster, ClusterId = clusterId, Namespace = svc.Namespace, Name = svc.Name,
            Frontends = frontends, Backends = backends, IncludeExternal = ann.Global, Shared = ann.Shared,
        };
    }

    /// <summary>
    /// The model's EndpointSlices with every global service's merged backends: the local slices stay while the
    /// merge keeps local backends (their node names keep traffic-policy Local working) and go when it picked only
    /// remote ones; remote backends come as extra slices, one per (family, port).
    /// </summary>
    /// <param name="overlapping">Overlapping pod CIDR support: each remote endpoint carries its cluster ID (reached by
    /// (cluster, address)), and the same address in two clusters is two backends.</param>
    public static ImmutableArray<EndpointSliceSpec> MergedSlices(ConfigModel model, IReadOnlyList<ClusterService> remote,
        string cluster, uint clusterId, bool overlapping = false)
    {
        if (model.Services.IsEmpty) return model.EndpointSlices;
        var exported = Exported(model, cluster, clusterId);
        if (exported.Count == 0) return model.EndpointSlices;
        var result = model.EndpointSlices.ToBuilder();
        foreach (var local in exported)
        {
            var svc = model.Services.First(s => s.Namespace == local.Namespace && s.Name == local.Name);
            var merged = GlobalServiceMerge.Backends(local, GlobalServiceAnnotations.From(svc.Annotations).Affinity,
                remote.Where(r => r.Namespace == local.Namespace && r.Name == local.Name));
            if (!merged.Any(b => b.Local))
                result.RemoveAll(s => s.Namespace == svc.Namespace && s.ServiceName == svc.Name);
            var groups = merged.Where(b => !b.Local && b.Protocol is "TCP" or "UDP")
                .GroupBy(b => (V6: b.Address.AddressFamily == AddressFamily.InterNetworkV6, b.PortName, b.Protocol, b.Port));
            int n = 0;
            foreach (var g in groups)
            {
                var at = MeshModel.Source(g.First().Cluster);
                var endpoints = g.Select(b => (Address: b.Address, Cluster: overlapping ? (byte)b.ClusterId : (byte)0)).Distinct()
                    .Select(e => new SliceEndpointSpec([e.Address], Ready: true, Serving: true, Terminating: false, NodeName: "", at)
                    {
                        Cluster = e.Cluster,
                    });
                result.Add(new EndpointSliceSpec(svc.Namespace, $"{svc.Name}-clustermesh-{n++}", svc.Name, g.Key.V6,
                    [.. endpoints], [new SlicePortSpec(g.Key.PortName, ProtoByte(g.Key.Protocol), g.Key.Port)], at));
            }
        }
        return result.ToImmutable();
    }

    private static string Proto(byte p) => p == IpProtocols.Udp ? "UDP" : p == IpProtocols.Tcp ? "TCP" : "SCTP";

    private static byte ProtoByte(string p) => p == "UDP" ? IpProtocols.Udp : IpProtocols.Tcp;
}
