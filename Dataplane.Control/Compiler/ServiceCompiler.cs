using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Dataplane.Control.Config;
using Dataplane.Core.EgressGateway;
using Dataplane.Core.Services;
using Dataplane.Core.Nat;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Control.Compiler;

/// <summary>
/// Services + EndpointSlices → frontends and backend sets, as Cilium's service manager derives them: per service
/// port and family, the active backends (endpoint ready and not terminating; the port number is the slice port
/// carrying the service port's name) and the node-local subset; ClusterIPs use the internalTrafficPolicy's set,
/// NodePorts (on every address of this node), LoadBalancer ingress IPs and external IPs the
/// externalTrafficPolicy's. Terminating backends get no new connections; existing ones keep them through
/// conntrack. Maglev rings are built here, off the hot path. Also compiles masquerade and egress gateway state.
/// </summary>
public static class ServiceCompiler
{
    public static ServiceState Compile(ConfigModel model, SnapshotBuilder builder)
    {
        var local = model.Local;
        var masq = CompileMasquerade(model, builder);
        var egw = EgressGatewayCompiler.Compile(model, builder);
        if (model.Services.IsEmpty) return new ServiceState(FrontendTable.Empty, [BackendSet.Empty], [], masq, egw);

        var nodeIps = model.LocalNode.InternalIps
            .Concat(local.Interfaces.SelectMany(i => i.Addresses.Select(a => a.Address)))
            .Distinct().ToList();
        var sets = new List<BackendSet> { BackendSet.Empty };
        var infos = new List<ServiceInfo>();
        var frontends = new List<Frontend>();
        // Selector services get their pods' endpoints here, after the host merged its own pods (the CNI plugin's).
        var slicesByService = model.EndpointSlices.Concat(EndpointSliceController.Derive(model.Services, model.Pods))
            .ToLookup(e => (e.Namespace, e.ServiceName));

        foreach (var svc in model.Services)
        {
            if (svc.Headless) continue;
            var algorithm = svc.Algorithm == LbAlgorithm.Default ? local.LoadBalancing.Algorithm : svc.Algorithm;
            foreach (var port in svc.Ports)
            {
                var name = $"{svc.QualifiedName}:{(port.Name.Length > 0 ? port.Name : port.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))}";
                int infoIndex = infos.Count;
                infos.Add(new ServiceInfo(name, XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(name)),
                    svc.AffinityClientIp ? svc.AffinityTimeoutSeconds : 0));
                foreach (byte family in new byte[] { 4, 6 })
                {
                    var all = ActiveBackends(slicesByService[(svc.Namespace, svc.Name)], port, family, local.Name);
                    if (all.Count == 0 && !HasFrontend(svc, port, family, nodeIps)) continue;
                    int allSet = AddSet(sets, all, algorithm, local.LoadBalancing.MaglevTableSize, port.Protocol, svc);
                    int localSet = AddSet(sets, all.Where(b => b.Local).ToList(), algorithm, local.LoadBalancing.MaglevTableSize, port.Protocol, svc);
                    int internalSet = svc.InternalTrafficLocal ? localSet : allSet;
                    int externalSet = svc.ExternalTrafficLocal ? localSet : allSet;
                    bool narrowed = all.Any(b => !b.Local);
                    foreach (var ip in svc.ClusterIps.Where(a => Family(a) == family))
                        frontends.Add(Make(ip, port.Port, port.Protocol, internalSet, infoIndex, FrontendScope.Internal,
                            FrontendKind.ClusterIp, svc.InternalTrafficLocal && narrowed));
                    foreach (var ip in svc.ExternalIps.Concat(svc.LoadBalancerIps).Where(a => Family(a) == family))
                        frontends.Add(Make(ip, port.Port, port.Protocol, externalSet, infoIndex, FrontendScope.External,
                            FrontendKind.ExternalIp, svc.ExternalTrafficLocal && narrowed));
                    if (port.NodePort != 0)
                        foreach (var ip in nodeIps.Where(a => Family(a) == family))
                            frontends.Add(Make(ip, port.NodePort, port.Protocol, externalSet, infoIndex, FrontendScope.External,
                                FrontendKind.NodePort, svc.ExternalTrafficLocal && narrowed));
                }
            }
        }
        return new ServiceState(new FrontendTable(frontends), [.. sets], [.. infos], masq, egw);
    }

    private static bool HasFrontend(ServiceSpec svc, ServicePortSpec port, byte family, List<IPAddress> nodeIps) =>
        svc.ClusterIps.Concat(svc.ExternalIps).Concat(svc.LoadBalancerIps).Any(a => Family(a) == family)
        || (port.NodePort != 0 && nodeIps.Any(a => Family(a) == family));

    private static byte Family(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6;

    private static UInt128 Raw(IPAddress a) =>
        a.AddressFamily == AddressFamily.InterNetwork ? RoutePrefix.ToUInt32(a) : RoutePrefix.ToUInt128(a);

    private static Frontend Make(IPAddress ip, ushort port, byte proto, int set, int service, FrontendScope scope,
        FrontendKind kind, bool localNarrowed) => new()
    {
        Addr = Raw(ip), Port = port, Proto = proto, Family = Family(ip), Set = set, Service = service, Scope = scope,
        Kind = kind, LocalNarrowed = localNarrowed,
    };

    /// <summary>
    /// Backends new connections may use: endpoints that are ready (ready implies not terminating in Kubernetes;
    /// a terminating endpoint is left out even if it still serves), at the slice port named like the service
    /// port, in a stable order (address, port) so every node sees the same list.
    /// </summary>
    private static List<Backend> ActiveBackends(IEnumerable<EndpointSliceSpec> slices, ServicePortSpec port, byte family, string localNode)
    {
        var seen = new HashSet<(UInt128, ushort, byte)>();
        var list = new List<Backend>();
        foreach (var slice in slices)
        {
            if (slice.Ipv6 != (family == 6)) continue;
            var sp = slice.Ports.FirstOrDefault(p => p.Name == port.Name && p.Protocol == port.Protocol);
            if (sp is null) continue;
            foreach (var ep in slice.Endpoints)
            {
                if (!ep.Ready || ep.Terminating) continue;
                foreach (var a in ep.Addresses)
                {
                    // Another cluster's address may also be one of ours: it is a backend of its own, by (cluster, address).
                    byte cluster = a.AddressFamily == AddressFamily.InterNetwork ? ep.Cluster : (byte)0;
                    if (seen.Add((Raw(a), sp.Port, cluster)))
                        list.Add(new Backend(Raw(a), sp.Port, ep.NodeName == localNode, cluster));
                }
            }
        }
        list.Sort((x, y) => x.Addr != y.Addr ? x.Addr.CompareTo(y.Addr) : x.Port != y.Port ? x.Port.CompareTo(y.Port) : x.Cluster.CompareTo(y.Cluster));
        return list;
    }

    private static int AddSet(List<BackendSet> sets, List<Backend> backends, LbAlgorithm algorithm, int maglevSize, byte proto, ServiceSpec svc)
    {
        if (backends.Count == 0) return 0;
        int[] ring = [];
        if (algorithm == LbAlgorithm.Maglev)
        {
            var keys = backends.Select(b => new MaglevBackend(BackendKey(b, proto))).ToList();
            if (keys.Count >= maglevSize)
                throw new ConfigException(svc.Source,
                    $"service {svc.QualifiedName}: {keys.Count} backends do not fit a Maglev table of {maglevSize} (raise loadBalancing.maglevTableSize)");
            ring = Maglev.BuildRing(keys, maglevSize);
        }
        sets.Add(new BackendSet([.. backends], ring));
        return sets.Count - 1;
    }

    /// <summary>The Maglev key of a backend: "address:port/protocol", the same on every node.</summary>
    public static string BackendKey(in Backend b, byte proto)
    {
        var ip = b.Addr <= uint.MaxValue && b.Addr != 0 ? RoutePrefix.ToAddress((uint)b.Addr) : RoutePrefix.ToAddress(b.Addr);
        return b.Cluster == 0 ? $"{ip}:{b.Port}/{ConfigProto(proto)}" : $"cluster{b.Cluster}/{ip}:{b.Port}/{ConfigProto(proto)}";
    }

    private static string ConfigProto(byte proto) => proto == Core.Parsing.IpProtocols.Udp ? "UDP" : "TCP";

    private static MasqueradeState CompileMasquerade(ConfigModel model, SnapshotBuilder builder)
    {
        // Interface addresses are needed even with masquerading off: NodePort traffic to a remote backend is
        // SNATed to them.
        var spec = model.Local.Masquerade;
        var exempt = spec.Enabled ? model.Nodes.SelectMany(n => n.PodCidrs).Concat(spec.NonMasqueradeCidrs) : [];
        var ports = builder.Ports;
        var v4 = new uint[ports.Count];
        var v6 = new UInt128[ports.Count];
        foreach (var itf in model.Local.Interfaces)
        {
            var port = ports.First(p => p.Name == itf.Name);
            var a4 = itf.Addresses.Select(a => a.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            var a6 = itf.Addresses.Select(a => a.Address).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetworkV6 && !a.IsIPv6LinkLocal);
            if (a4 != null) v4[port.Id] = RoutePrefix.ToUInt32(a4);
            if (a6 != null) v6[port.Id] = RoutePrefix.ToUInt128(a6);
        }
        return new MasqueradeState(spec.Enabled, new CidrList(exempt), spec.PortMin, spec.PortMax, v4, v6);
    }
}
